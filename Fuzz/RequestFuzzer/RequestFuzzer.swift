import CLibFuzzer
import Glibc
import RequestValidation

/// Runs libFuzzer on `fuzzOneInput`; its options and corpus directories are the arguments.
@main
enum RequestFuzzer {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
    }
}

/// A policy with every option on, so that every check is reached, and a size limit that
/// scripts/fuzz.sh's inputs cross.
private let policy: RequestPolicy = {
    var policy = RequestPolicy()
    policy.limits.maxRequestBytes = 4096
    policy.images = ImagePolicy(allowed: ["registry.example.com", "docker.io/library"])
    policy.buckets = BucketPolicy(
        allowed: [BucketPattern("team-*"), BucketPattern("shared")],
        credentials: [BucketCredentials(pattern: BucketPattern("team-b-*"), secret: "team-b-s3")])
    policy.logKey = LogKeyTemplate("logs/{prefix}/{jobName}/{pod}.log")
    return policy
}()

/// One input: a request or a rejection naming a field, and nothing else; a crash, a hang or
/// memory out of proportion to the input is a finding. The first byte chooses the AMQP type
/// (`c`: `cancel`, any other: none) and the rest is the body, so that the type never depends on
/// the body's own first character (`{` would always choose one of them). Exported under
/// libFuzzer's name too, because the library's own `main`, linked beside ours, refers to it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = UnsafeBufferPointer(start: data, count: size)
    guard let selector = input.first else { return 0 }
    let type = selector == UInt8(ascii: "c") ? "cancel" : nil
    do {
        _ = try RequestMessage(body: Array(input.dropFirst()), type: type, policy: policy)
    } catch {
        precondition(!error.field.isEmpty && !error.reason.isEmpty, "a rejection must name a field and a reason: \(error)")
    }
    return 0
}
