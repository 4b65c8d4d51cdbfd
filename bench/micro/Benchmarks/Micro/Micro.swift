import Benchmark
import Foundation
import JobRunner
import ObjectStore
import RequestValidation

/// Per-item time of the worker's hot paths, one item per iteration, in µs of wall clock on one
/// thread (the CPU time counter ticks in 10 ms, too coarse for one item): a watch event read by
/// `WatchLine` next to `JSONDecoder` (what the watches used before) and to `JSONSerialization`
/// alone (a floor for parsing everything, then picking fields by hand); one S3 request signed;
/// one Job's manifest and one merge patch written; one work request validated. The p50 column
/// is the figure to quote.
let benchmarks: @Sendable () -> Void = {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal], timeUnits: .microseconds, maxDuration: .seconds(2))

    for (kind, line) in [("Pod", Fixtures.pod), ("Job", Fixtures.job)] {
        Benchmark("watch event (\(kind)): WatchLine", configuration: configuration) { benchmark in
            for _ in benchmark.scaledIterations {
                if kind == "Pod" { blackHole(try WatchLine<Pod>(line)) } else { blackHole(try WatchLine<Job>(line)) }
            }
        }
        Benchmark("watch event (\(kind)): JSONDecoder", configuration: configuration) { benchmark in
            let decoder = JSONDecoder()
            for _ in benchmark.scaledIterations {
                if kind == "Pod" {
                    blackHole(try decoder.decode(Fixtures.Line<Pod>.self, from: Data(line)))
                } else {
                    blackHole(try decoder.decode(Fixtures.Line<Job>.self, from: Data(line)))
                }
            }
        }
        Benchmark("watch event (\(kind)): JSONSerialization, parse only", configuration: configuration) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try JSONSerialization.jsonObject(with: Data(line)))
            }
        }
    }

    Benchmark("SigV4: sign one PUT", configuration: configuration) { benchmark in
        let signer = SigV4Signer(
            credentials: S3Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1")
        let request = SigV4Signer.Request(
            method: "PUT", path: "/bucket/logs/job-1234/pod-abcd.log", query: [("partNumber", "3"), ("uploadId", "Xyz-123")],
            headers: [("host", "127.0.0.1:8333"), ("content-length", "1048576")], payloadHash: SigV4Signer.unsignedPayload)
        let date = Date(timeIntervalSince1970: 1_765_000_000)
        for _ in benchmark.scaledIterations {
            blackHole(signer.signingHeaders(for: request, date: date))
        }
    }

    Benchmark("Job manifest: one single-pod Job", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(JobManifest.json(Fixtures.singlePodJob))
        }
    }

    Benchmark("merge patch: a Job's release", configuration: configuration) { benchmark in
        let patch = JobPatch(annotations: ["cloud-worker.io/reported": "true"], finalizers: [], ttlSecondsAfterFinished: 3600)
        for _ in benchmark.scaledIterations {
            blackHole(patch.mergePatch(resourceVersion: "48213"))
        }
    }

    Benchmark("request validation: one work request", configuration: configuration) { benchmark in
        let policy = RequestPolicy()
        let body = Array(
            #"{"image":"busybox:latest","jobName":"nightly-report","inputBucket":"team-a-input","outputBucket":"team-a-output","command":["sh","-c","echo done"],"env":{"MODE":"full","DAYS":"7"}}"#
                .utf8)
        _ = try RequestMessage(body: body, type: nil, policy: policy)  // a request the policy accepts
        for _ in benchmark.scaledIterations {
            blackHole(try RequestMessage(body: body, type: nil, policy: policy))
        }
    }
}

/// Events recorded from the simulator (the JobRunner tests' fixtures).
enum Fixtures {
    struct Line<Object: Decodable>: Decodable {
        var type: String
        var object: Object
    }

    static let lines: [[UInt8]] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../../../Tests/JobRunnerTests/Fixtures/watch-events.jsonl")
        return try! Data(contentsOf: url).split(separator: UInt8(ascii: "\n")).map { Array($0) }
    }()

    /// A Job as the worker makes it for a single-pod request: its labels, annotations and
    /// finalizer, the S3 environment with the credentials from a Secret.
    static let singlePodJob = JobSpecification(
        name: "nightly-report-3f2a9c1d",
        labels: [
            "app.kubernetes.io/managed-by": "cloud-worker", "cloud-worker.io/request": "3f2a9c1d7e5b4a60",
            "cloud-worker.io/pool": "work-requests",
        ],
        annotations: [
            "cloud-worker.io/request-id": "r-20251207-0001", "cloud-worker.io/job-name": "nightly-report",
            "cloud-worker.io/output-bucket": "team-a-output", "cloud-worker.io/reply-to": "amq.gen-JzTY20BRgKO-HjmUJj0wLg",
            "cloud-worker.io/correlation-id": "c-81d4", "cloud-worker.io/claimed-by": "cloud-worker-7f9c4-x2k8q",
            "cloud-worker.io/claimed-at": "2025-12-07T13:17:00Z",
        ],
        finalizers: ["cloud-worker.io/report"],
        image: "busybox:latest",
        command: ["sh", "-c", "echo done"],
        env: [
            EnvironmentVariable("INPUT_BUCKET", "team-a-input"), EnvironmentVariable("OUTPUT_BUCKET", "team-a-output"),
            EnvironmentVariable("MINIO_SERVICE_HOST", "minio.storage.svc"), EnvironmentVariable("MINIO_SERVICE_PORT", "9000"),
            EnvironmentVariable("AWS_ENDPOINT_URL", "http://minio.storage.svc:9000"), EnvironmentVariable("AWS_REGION", "us-east-1"),
            EnvironmentVariable("AWS_ACCESS_KEY_ID", secret: "team-a-s3", key: "AWS_ACCESS_KEY_ID"),
            EnvironmentVariable("AWS_SECRET_ACCESS_KEY", secret: "team-a-s3", key: "AWS_SECRET_ACCESS_KEY"),
            EnvironmentVariable("DAYS", "7"), EnvironmentVariable("MODE", "full"),
        ],
        activeDeadlineSeconds: 3600
    )

    /// A pod's ADDED event, as the API server writes it (3.6 kB).
    static let pod = added(#""kind":"Pod""#)
    /// A finished Job's ADDED event (3.3 kB).
    static let job = added(#""kind":"Job""#)

    private static func added(_ kind: String) -> [UInt8] {
        lines.first { line in
            let text = String(decoding: line, as: UTF8.self)
            return text.hasPrefix(#"{"type":"ADDED""#) && text.contains(kind)
        }!
    }
}
