import Foundation
import HTTPTransport
import Logging
import Testing

@testable import JobRunner
@testable import ObjectStore

/// A 100 MiB log that the kubelet rotates many times while it is written, followed to its end
/// (resuming each time rotation ends the stream) and streamed into S3 (SeaweedFS from
/// `scripts/services.sh`) by multipart upload: the stored object is the log, byte for byte.
@Suite(.serialized) struct RotatedLogTests {
    static let lines = 104_858  // × 1,000 bytes ≈ 100 MiB
    static let payload = String(repeating: "x", count: 990)

    static func expectedLog() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(lines * 1000)
        let payload = Array(Self.payload.utf8)
        for index in 0..<lines {
            var number = Array(String(index).utf8)
            number = [UInt8](repeating: UInt8(ascii: "0"), count: 8 - number.count) + number
            bytes += number
            bytes.append(UInt8(ascii: " "))
            bytes += payload
            bytes.append(10)
        }
        return bytes
    }

    @Test func hundredMebibyteRotatedLogIsArchivedByteIdentical() async throws {
        let simulator = try Simulator(.plain, extraArguments: ["--log-rotate-bytes", "\(10 << 20)", "--log-max-files", "5"])
        let run = "r\(UUID().uuidString.prefix(8).lowercased())"
        // At most 2.5 MB/s, a heavy logger: the log rotates ten times, each rotation ending the
        // followed stream. (Whatever the follower has not read when the file rotates a second
        // time is gone: kubelets serve the current file only.)
        let script = """
            import sys, time
            out, payload = sys.stdout, "x" * 990
            for i in range(\(Self.lines)):
                out.write(f"{i:08d} {payload}\\n")
                if i % 1000 == 999:
                    out.flush()
                    time.sleep(0.4)
            """
        var spec = testJob(run: run, script: "", image: "python:3.11", deadline: 900)
        spec.command = ["python3", "-c", script]
        let job = try await create(spec, on: simulator.client)

        let environment = ProcessInfo.processInfo.environment
        let store = S3Client(
            configuration: S3Configuration(
                endpoint: environment["S3_ENDPOINT"] ?? "http://127.0.0.1:8333", region: "us-east-1",
                credentials: S3Credentials(
                    accessKeyID: environment["S3_ACCESS_KEY_ID"] ?? "CWTESTACCESSKEY",
                    secretAccessKey: environment["S3_SECRET_ACCESS_KEY"] ?? "cwTestSecretKey0123456789abcdefghijklmn")),
            http: HTTPClient(), logger: Logger(label: "test"))
        let bucket = "log-\(run)"
        try await store.createBucket(bucket)

        let pod = try await Self.runningPod(of: job, client: simulator.client)
        let follower = PodLogFollower(client: simulator.client, pod: pod) {
            let pods = try? await simulator.client.list(Pod.self, labelSelector: "test-run=\(run)").items
            return pods?.first { $0.name == pod }?.isTerminated ?? true
        }
        let stored = try await store.upload(bucket: bucket, key: "logs/\(pod).log", contentType: "text/plain; charset=utf-8") {
            try await follower.nextLines()
        }

        let expected = Self.expectedLog()
        #expect(stored == expected.count)
        #expect(follower.resumes >= 9, "the kubelet rotated the log about ten times, each ending the stream")
        let archived = try await store.getObject(bucket: bucket, key: "logs/\(pod).log")
        #expect(archived.count == expected.count)
        // A Bool, not the arrays: describing 100 MiB on a failure would take minutes.
        let identical = archived == expected
        let firstDifference = identical ? nil : (0..<min(archived.count, expected.count)).first { archived[$0] != expected[$0] }
        #expect(identical, "the archived log differs from byte \(firstDifference ?? min(archived.count, expected.count)) on")
        try await store.deleteObject(bucket: bucket, key: "logs/\(pod).log")
        _ = try await store.send("DELETE", bucket: bucket)
    }

    /// The Job's pod once its container runs (listing: this test follows one pod only).
    static func runningPod(of job: Job, client: KubernetesClient) async throws -> String {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let pods = try await client.list(Pod.self, labelSelector: "batch.kubernetes.io/controller-uid=\(job.metadata.uid ?? "")").items
            if let pod = pods.first(where: { $0.containerState?.running != nil || $0.containerState?.terminated != nil }) {
                return pod.name
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw SimulatorError("the pod of \(job.name) did not start")
    }
}
