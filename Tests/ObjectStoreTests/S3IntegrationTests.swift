import Foundation
import HTTPTransport
import Logging
import Testing

@testable import ObjectStore

/// Against the real SeaweedFS S3 gateway started by `scripts/services.sh` (it verifies SigV4).
/// Endpoint and identity come from S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY.
@Suite(.serialized) struct S3IntegrationTests {
    static let environment = ProcessInfo.processInfo.environment
    static let endpoint = environment["S3_ENDPOINT"] ?? "http://127.0.0.1:8333"
    static let accessKey = environment["S3_ACCESS_KEY_ID"] ?? "CWTESTACCESSKEY"
    static let secretKey = environment["S3_SECRET_ACCESS_KEY"] ?? "cwTestSecretKey0123456789abcdefghijklmn"

    static func client(secret: String = secretKey, multipartThreshold: Int = 16 << 20, partSize: Int = 8 << 20) -> S3Client {
        let configuration = S3Configuration(
            endpoint: endpoint, region: "us-east-1",
            credentials: S3Credentials(accessKeyID: accessKey, secretAccessKey: secret),
            multipartThreshold: multipartThreshold, partSize: partSize,
            retry: RetryPolicy(maxAttempts: 2, baseDelay: 0.05, maxDelay: 0.1))
        return S3Client(configuration: configuration, http: HTTPClient(), logger: Logger(label: "test"))
    }

    static func freshBucket(_ client: S3Client) async throws -> String {
        let bucket = "it-\(UUID().uuidString.lowercased().prefix(13))"
        try await client.createBucket(bucket)
        return bucket
    }

    @Test func roundTripsObjectsWithAwkwardKeys() async throws {
        let client = Self.client()
        let bucket = try await Self.freshBucket(client)
        #expect(try await client.bucketExists(bucket))
        let cases: [(String, [UInt8])] = [
            ("empty", []),
            ("small.txt", Array("hello".utf8)),
            ("dir/with space/ünïcödé+plus%percent~tilde.txt", Array("special".utf8)),
        ]
        for (key, body) in cases {
            try await client.putObject(bucket: bucket, key: key, body: body, contentType: "text/plain")
            #expect(try await client.getObject(bucket: bucket, key: key) == body, "key \(key)")
            let info = try await client.headObject(bucket: bucket, key: key)
            #expect(info?.size == body.count)
        }
        let listed = try await client.listObjects(bucket: bucket).map(\.key).sorted()
        #expect(listed == cases.map(\.0).sorted())
        try await client.deleteObject(bucket: bucket, key: "small.txt")
        #expect(try await client.headObject(bucket: bucket, key: "small.txt") == nil)
    }

    @Test func wrongSecretIsSignatureDoesNotMatch() async throws {
        let client = Self.client(secret: "not-the-secret")
        do {
            try await client.putObject(bucket: "anything", key: "k", body: [1])
            Issue.record("the store accepted a wrong signature")
        } catch let error as S3Error {
            #expect(error.code == "SignatureDoesNotMatch")
            #expect(error.status == 403)
            #expect(!error.description.contains("not-the-secret"))
        }
    }

    @Test func streamedUploadAboveTheThresholdGoesMultipart() async throws {
        let client = Self.client(multipartThreshold: 5 << 20, partSize: 5 << 20)
        let bucket = try await Self.freshBucket(client)
        let size = 12 << 20 + 12_345
        let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        var offset = 0
        let stored = try await client.upload(bucket: bucket, key: "big.bin", contentType: "application/octet-stream") {
            guard offset < data.count else { return nil }
            let chunk = Array(data[offset..<min(offset + 700_000, data.count)])
            offset += chunk.count
            return chunk
        }
        #expect(stored == size)
        let info = try await client.headObject(bucket: bucket, key: "big.bin")
        #expect(info?.size == size)
        #expect(info?.etag.hasSuffix("-3\"") == true, "three parts: \(info?.etag ?? "")")
        #expect(try await client.getObject(bucket: bucket, key: "big.bin") == data)
        #expect(try await client.listMultipartUploads(bucket: bucket).isEmpty)
    }

    @Test func failedMultipartUploadIsAborted() async throws {
        let client = Self.client(multipartThreshold: 5 << 20, partSize: 5 << 20)
        let bucket = try await Self.freshBucket(client)
        struct SourceFailed: Error {}
        var calls = 0
        await #expect(throws: SourceFailed.self) {
            try await client.upload(bucket: bucket, key: "broken.bin", contentType: "application/octet-stream") {
                calls += 1
                if calls > 12 { throw SourceFailed() }
                return [UInt8](repeating: 7, count: 1 << 20)
            }
        }
        #expect(try await client.listMultipartUploads(bucket: bucket).isEmpty)
        #expect(try await client.headObject(bucket: bucket, key: "broken.bin") == nil)
    }
}
