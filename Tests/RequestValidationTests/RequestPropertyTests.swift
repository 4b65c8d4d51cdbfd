import Testing

@testable import RequestValidation

/// Every input gets exactly one answer: a request that holds to every rule, or a rejection
/// naming a field a producer can find in its request. Inputs are random requests built from
/// good and bad values, then randomly damaged, from a fixed seed so that a failure repeats.
@Suite struct RequestPropertyTests {
    static let fieldRoots: Set<String> = [
        "body", "image", "jobName", "timeOut", "inputBucket", "outputBucket", "env", "command", "args", "resources",
        "backoffLimit", "prefix", "tasks", "parallelism", "cancel", "requestId",
    ]

    static let values: [String: [String]] = [
        "image": [
            #""busybox:latest""#, #""registry.example.com/team/app@sha256:\#(String(repeating: "0", count: 64))""#, #""bad image""#,
            #""registry.example.com.evil.io/x""#, #""\#(String(repeating: "a", count: 300))""#, "7", "null",
        ],
        "jobName": [#""nightly""#, #""../../x""#, #""\#(String(repeating: "n", count: 254))""#, #""a\u0007b""#, "[]"],
        "inputBucket": [#""team-a-in""#, #""shared""#, #""Bad_Bucket""#, #""team-c""#, "1"],
        "outputBucket": [#""team-a-out""#, #""team-b-out""#, #""..""#],
        "timeOut": ["0", "5", "-1", "1e12", "1.5", "true", #""5""#],
        "env": [#"{"A":"1"}"#, #"{"AWS_REGION":"x"}"#, #"{"TASK_ARGS_FILE":"/etc/passwd"}"#, #"{"1A":"x"}"#, #"{"A":1}"#, "[]"],
        "resources": [
            #"{"limits":{"memory":"1Gi","cpu":"500m"}}"#, #"{"limits":{"memory":"64Pi"}}"#, #"{"limits":{"nvidia.com/gpu":"64"}}"#,
            #"{"requests":{"cpu":"2"},"limits":{"cpu":"1"}}"#, #"{"limits":{"cpu":"lots"}}"#, #"{"other":{}}"#, #"{"limits":[]}"#,
        ],
        "prefix": [#""run1""#, #""a/b""#, #""..""#, #""\#(String(repeating: "p", count: 129))""#, "{}"],
        "tasks": ["[1,2,3]", "[]", #"[{"a":[{"b":[]}]}]"#, "{}"],
        "parallelism": ["1", "0", "99"],
        "command": [#"["sh","-c"]"#, #""sh""#, "[1]"],
        "backoffLimit": ["0", "3", "99"],
        "cancel": [#""r1""#, #""""#, "5"],
    ]

    static var policy: RequestPolicy {
        var policy = RequestPolicy()
        policy.images = ImagePolicy(allowed: ["registry.example.com", "docker.io/library"])
        policy.buckets = BucketPolicy(
            allowed: [BucketPattern("team-*"), BucketPattern("shared")],
            credentials: [BucketCredentials(pattern: BucketPattern("team-b-*"), secret: "team-b-s3")])
        policy.logKey = LogKeyTemplate("logs/{prefix}/{jobName}/{pod}.log")
        policy.limits.maxRequestBytes = 4096
        return policy
    }

    @Test func everyInputIsAValidRequestOrARejectionNamingAField() {
        var random = SplitMix64(seed: 0x5eed)
        var outcomes = (valid: 0, rejected: 0)
        let fields = Self.values.keys.sorted()
        for _ in 0..<20_000 {
            var members: [String] = []
            for field in fields where random.next() % 3 != 0 {
                let choices = Self.values[field]!
                members.append("\"\(field)\":\(choices[Int(random.next() % UInt64(choices.count))])")
            }
            var body = Array("{\(members.joined(separator: ","))}".utf8)
            // Damage some: flip, drop or duplicate a few bytes.
            for _ in 0..<Int(random.next() % 4) where random.next() % 4 == 0 && !body.isEmpty {
                let index = Int(random.next() % UInt64(body.count))
                switch random.next() % 3 {
                case 0: body[index] = UInt8(truncatingIfNeeded: random.next())
                case 1: body.remove(at: index)
                default: body.insert(contentsOf: body[index...].prefix(8), at: index)
                }
            }
            let type = random.next() % 8 == 0 ? "cancel" : nil
            do {
                let message = try RequestMessage(body: body, type: type, policy: Self.policy)
                outcomes.valid += 1
                if case .work(let request) = message { Self.expectHoldsToTheRules(request) }
            } catch {
                outcomes.rejected += 1
                let root = String(error.field.prefix { $0 != "." && $0 != "[" })
                #expect(Self.fieldRoots.contains(root), "\(error) for \(String(decoding: body, as: UTF8.self))")
                #expect(!error.reason.isEmpty && error.reason.utf8.count < 400, "\(error)")
            }
        }
        // Both answers must actually occur, or the generator tests nothing.
        #expect(outcomes.valid > 100 && outcomes.rejected > 100, "\(outcomes)")
    }

    static func expectHoldsToTheRules(_ request: WorkRequest) {
        let policy = Self.policy
        #expect((try? policy.images.check(request.image)) != nil, "\(request.image)")
        #expect(request.env.keys.allSatisfy { (try? EnvironmentName.check($0)) != nil }, "\(request.env)")
        for (name, quantity) in request.resources.limits.merging(request.resources.requests, uniquingKeysWith: max) {
            #expect(quantity <= policy.resources.maximums[name]!, "\(name)=\(quantity)")
        }
        #expect(request.prefix.map { !$0.contains("/") && !$0.contains("..") && $0.utf8.count <= 128 } ?? true)
        #expect(request.jobName.utf8.count <= 253)
        #expect(request.credentialsSecret == (request.inputBucket.hasPrefix("team-b-") ? "team-b-s3" : "cloud-worker-job-s3"))
    }
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
