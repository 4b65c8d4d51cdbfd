import Foundation
import HTTPTransport
import JobRunner
import ObjectStore
import QueueConsumer
import RequestValidation
import Testing

@testable import CloudWorker

@Suite struct JobSpecBuilderTests {
    static func configuration() throws -> WorkerConfiguration {
        var requests = RequestPolicy()
        requests.buckets = BucketPolicy(credentials: [BucketCredentials(pattern: BucketPattern("team-b-*"), secret: "team-b-s3")])
        return WorkerConfiguration(
            amqp: AMQPConfiguration(url: try AMQPURL(parsing: "amqp://guest:guest@127.0.0.1:5672/%2F")),
            kubernetes: KubernetesConfiguration(server: "http://127.0.0.1:8001"),
            s3: S3Configuration(credentials: S3Credentials(accessKeyID: "id", secretAccessKey: "secret")),
            s3TLS: TLSConfiguration(), jobS3Endpoint: "http://s3.example:8333", requests: requests, maxDeliveries: 5,
            cancelScope: .producer, statusToken: nil, jobTTLSeconds: 3600, finishedJobRetentionSeconds: 600, pod: PodSettings(),
            workerID: "worker-1",
            claimTimeoutSeconds: 300, archivePatienceSeconds: 600, stuckPodGraceSeconds: 120, shutdownGraceSeconds: 25, httpPort: nil,
            httpHost: "127.0.0.1")
    }

    static func job(_ json: String, userID: String? = nil) throws -> (JobSpecification, [String: Any]) {
        let configuration = try configuration()
        let message = AMQPMessage(body: Array(json.utf8), properties: .init(messageID: "r1", userID: userID))
        guard case .work(let request) = try RequestMessage(body: message.body, type: nil, policy: configuration.requests) else {
            throw RequestRejection(field: "test", reason: "not a work request")
        }
        let spec = JobSpecBuilder(configuration: configuration).specification(
            for: request, identity: RequestIdentity(message: message), message: message, now: Date())
        let manifest = try JSONSerialization.jsonObject(with: Data(JobManifest.json(spec))) as! [String: Any]
        return (spec, manifest)
    }

    static func containerEnvironment(_ manifest: [String: Any]) -> [[String: Any]] {
        let template = (manifest["spec"] as! [String: Any])["template"] as! [String: Any]
        let containers = (template["spec"] as! [String: Any])["containers"] as! [[String: Any]]
        return containers[0]["env"] as! [[String: Any]]
    }

    /// A request could otherwise replace what the worker tells its pods.
    @Test func everyVariableTheWorkerSetsIsReservedFromRequests() throws {
        let (_, manifest) = try Self.job(#"{"image":"i","jobName":"j","inputBucket":"bkt","prefix":"p","tasks":[1,2]}"#)
        let names = Self.containerEnvironment(manifest).map { $0["name"] as! String }
        #expect(names.count >= 10, "\(names)")
        for name in names {
            let body = #"{"image":"i","jobName":"j","inputBucket":"bkt","env":{"\#(name)":"x"}}"#
            #expect(throws: RequestRejection.self, "\(name) must be reserved") { try Self.job(body) }
        }
    }

    @Test func podsGetTheSecretTheirBucketsMapTo() throws {
        func secrets(_ bucket: String) throws -> Set<String> {
            let (spec, _) = try Self.job(#"{"image":"i","jobName":"j","inputBucket":"\#(bucket)"}"#)
            return Set(
                spec.env.compactMap {
                    guard case .secretKey(let secret, _) = $0.source else { return nil }
                    return secret
                })
        }
        #expect(try secrets("team-b-data") == ["team-b-s3"])
        #expect(try secrets("other-data") == [BucketPolicy.standardCredentialsSecret])
    }

    @Test func theProducerIsRecordedForCancelsByJobName() throws {
        let (spec, _) = try Self.job(#"{"image":"i","jobName":"j","inputBucket":"bkt"}"#, userID: "alice")
        #expect(spec.annotations[JobMetadata.producer] == "alice")
    }

    @Test func quantitiesGoOutAsTheRequestWroteThem() throws {
        let resources = try Self.job(#"{"image":"i","jobName":"j","inputBucket":"bkt","resources":{"limits":{"cpu":"500m"}}}"#).0.resources
        #expect(resources == Resources(limits: ["cpu": "500m"]))
    }
}
