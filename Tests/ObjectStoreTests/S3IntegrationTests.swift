import Backoff
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

    static func client(
        secret: String = secretKey, multipartThreshold: Int = 16 << 20, partSize: Int = 8 << 20
    ) -> S3Client {
        let configuration = S3Configuration(
            endpoint: endpoint, region: "us-east-1",
            credentials: S3Credentials(accessKeyID: accessKey, secretAccessKey: secret),
            multipartThreshold: multipartThreshold, partSize: partSize,
            retry: RetryPolicy(baseDelay: 0.05, maxDelay: 0.1, patience: 0.2))
        return S3Client(
            configuration: configuration, http: HTTPClient(), logger: Logger(label: "test"))
    }

    static func freshBucket(_ client: S3Client) async throws -> String {
        let bucket = "it-\(UUID().uuidString.lowercased().prefix(13))"
        try await client.createBucket(bucket)
        return bucket
    }

    /// Deletes every object of `bucket`, then the bucket (the large tests clean up after themselves).
    static func removeBucket(_ bucket: String, client: S3Client) async throws {
        let keys = try await client.listObjects(bucket: bucket).map(\.key)
        try await forEach(keys, concurrently: 16) { try await client.deleteObject(bucket: bucket, key: $0) }
        _ = try await client.send("DELETE", bucket: bucket)
    }

    /// Runs `body` on every item with at most `limit` of them in flight.
    static func forEach<Item: Sendable>(
        _ items: [Item], concurrently limit: Int, _ body: @escaping @Sendable (Item) async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, item) in items.enumerated() {
                if index >= limit { try await group.next() }
                group.addTask { try await body(item) }
            }
            try await group.waitForAll()
        }
    }

    /// `count` reproducible pseudo-random bytes (xorshift64), quick to make even unoptimised.
    static func pseudoRandomBytes(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
        var state = seed
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var offset = 0
            while offset < count {
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                var word = state
                for _ in 0..<min(8, count - offset) {
                    buffer[offset] = UInt8(truncatingIfNeeded: word)
                    word >>= 8
                    offset += 1
                }
            }
            initialized = count
        }
    }

    /// A source for `upload(from:)` that hands out `data` in chunks of `chunkSize`.
    static func chunks(of data: [UInt8], size chunkSize: Int) -> () async throws -> [UInt8]? {
        var offset = 0
        return {
            guard offset < data.count else { return nil }
            let chunk = Array(data[offset..<min(offset + chunkSize, data.count)])
            offset += chunk.count
            return chunk
        }
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

    @Test func getStreamsToASinkInPieces() async throws {
        let client = Self.client()
        let bucket = try await Self.freshBucket(client)
        let data = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 >> 3) }
        try await client.putObject(bucket: bucket, key: "streamed.bin", body: data)
        var received: [UInt8] = []
        var pieces = 0
        let size = try await client.getObject(bucket: bucket, key: "streamed.bin") { chunk in
            pieces += 1
            received += chunk
        }
        #expect(size == data.count)
        #expect(received == data)
        #expect(pieces > 1, "the body arrived in pieces, not as one buffer")
        await #expect(throws: S3Error.self) {
            try await client.getObject(bucket: bucket, key: "missing") { _ in Issue.record("no data for a missing key") }
        }
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

    // MARK: - Large objects, multipart, pagination

    @Test func fiftyMebibytesRoundTripThroughAStreamedUpload() async throws {
        let client = Self.client()  // 16 MiB threshold, 8 MiB parts: seven parts, the last 2 MiB
        let partSize = client.configuration.partSize
        let bucket = try await Self.freshBucket(client)
        let data = Self.pseudoRandomBytes(50 << 20)
        // Chunks that never line up with the parts, so the upload has to re-cut them.
        let stored = try await client.upload(
            bucket: bucket, key: "fifty.bin", contentType: "application/octet-stream",
            from: Self.chunks(of: data, size: 1_000_003))
        #expect(stored == data.count)

        let info = try #require(try await client.headObject(bucket: bucket, key: "fifty.bin"))
        #expect(info.size == data.count)
        let parts = stride(from: 0, to: data.count, by: partSize).map { data[$0..<min($0 + partSize, data.count)] }
        #expect(parts.count == 7)
        #expect(info.etag == MD5.multipartETag(parts: parts))
        let fetched = try await client.getObject(bucket: bucket, key: "fifty.bin")
        #expect(fetched.count == data.count)
        #expect(fetched == data)
        #expect(try await client.listMultipartUploads(bucket: bucket).isEmpty)
        try await Self.removeBucket(bucket, client: client)
    }

    @Test func multipartPartsAndTheWholeCarryTheirMD5ETags() async throws {
        let client = Self.client()
        let bucket = try await Self.freshBucket(client)
        let key = "parts/three parts+ünïcödé.bin"
        let data = Self.pseudoRandomBytes(10 << 20 + 1_234, seed: 42)
        let parts = [data[0..<5 << 20], data[5 << 20..<10 << 20], data[(10 << 20)...]]

        var upload = try await client.createMultipartUpload(bucket: bucket, key: key, contentType: "application/octet-stream")
        #expect(try await client.listMultipartUploads(bucket: bucket).contains(upload.id))
        for (number, part) in parts.enumerated() {
            try await upload.append(Array(part), client: client)
            #expect(upload.etags[number] == "\"\(MD5.hex(part))\"", "part \(number + 1)")
        }
        try await client.completeMultipartUpload(upload)

        let info = try #require(try await client.headObject(bucket: bucket, key: key))
        #expect(info.size == data.count)
        #expect(info.etag == MD5.multipartETag(parts: parts))
        #expect(info.etag.hasSuffix("-3\""))
        #expect(try await client.getObject(bucket: bucket, key: key) == data)
        #expect(try await client.listMultipartUploads(bucket: bucket).isEmpty)
        try await Self.removeBucket(bucket, client: client)
    }

    @Test func listingFollowsContinuationTokensPastAThousandKeys() async throws {
        let client = Self.client()
        let bucket = try await Self.freshBucket(client)
        let keys = (0..<1_050).map { "many/object-\(String(1_000_000 + $0).dropFirst())" }
        try await Self.forEach(keys, concurrently: 16) { key in
            try await client.putObject(bucket: bucket, key: key, body: Array(key.utf8), contentType: "text/plain")
        }

        // One raw ListObjectsV2 call: the store stops at 1,000 keys and hands out a token, so a
        // complete listing below can only come from following it.
        let firstPage = XMLFields(try await client.send("GET", bucket: bucket, query: [("list-type", "2"), ("prefix", "")]).body)
        #expect(firstPage.first("IsTruncated") == "true")
        #expect(firstPage.first("NextContinuationToken")?.isEmpty == false)
        #expect(firstPage.elements("Contents").count == 1_000)

        let listed = try await client.listObjects(bucket: bucket, prefix: "many/")
        #expect(listed.count == keys.count)
        #expect(listed.map(\.key).sorted() == keys)
        #expect(listed.allSatisfy { $0.size == $0.key.utf8.count })
        try await Self.removeBucket(bucket, client: client)
    }
}
