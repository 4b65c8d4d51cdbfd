import Foundation
import Testing

@testable import ObjectStore

/// Against SeaweedFS: an upload carried on by another writer from its checkpoint is the same
/// object as one written in one go.
@Suite(.serialized) struct ResumableUploadTests {
    static let contentType = "text/plain; charset=utf-8"

    @Test func aSecondWriterCarriesOnFromTheCheckpointAcrossParts() async throws {
        let client = S3IntegrationTests.client(partSize: 5 << 20)
        let bucket = try await S3IntegrationTests.freshBucket(client)
        let whole = S3IntegrationTests.pseudoRandomBytes(13 << 20)
        let cut = 7 << 20 + 12_345

        let (first, none) = try await ResumableUpload.open(client: client, bucket: bucket, key: "log", contentType: Self.contentType)
        #expect(none == nil, "no checkpoint yet: a new upload")
        try await first.append(Array(whole[..<cut]), marker: "at \(cut)")  // one part goes up, the rest is the tail
        try await first.checkpoint(marker: "at \(cut)")
        // The first writer dies here; what it appended after its checkpoint is lost with it.
        try await first.append(Array(whole[cut..<(cut + 1000)]), marker: "lost")

        let (second, marker) = try await ResumableUpload.open(client: client, bucket: bucket, key: "log", contentType: Self.contentType)
        #expect(marker == "at \(cut)")
        #expect(second.size == cut)
        try await second.append(Array(whole[cut...]), marker: "at the end")
        #expect(try await second.finish() == whole.count)

        let stored = try await client.getObject(bucket: bucket, key: "log")
        #expect(stored.count == whole.count)
        #expect(stored == whole)
        #expect(try await client.headObject(bucket: bucket, key: ResumableUpload.checkpointKey(for: "log")) == nil)
        #expect(try await client.listMultipartUploads(bucket: bucket, prefix: "log").isEmpty)
        try await S3IntegrationTests.removeBucket(bucket, client: client)
    }

    @Test func aSmallObjectWithoutCheckpointIsOnePut() async throws {
        let client = S3IntegrationTests.client()
        let bucket = try await S3IntegrationTests.freshBucket(client)
        let (upload, _) = try await ResumableUpload.open(client: client, bucket: bucket, key: "small", contentType: Self.contentType)
        try await upload.append(Array("one line\n".utf8), marker: "1")
        #expect(try await upload.finish() == 9)
        #expect(try await client.getObject(bucket: bucket, key: "small") == Array("one line\n".utf8))
        #expect(try await client.listObjects(bucket: bucket).map(\.key) == ["small"])
        try await S3IntegrationTests.removeBucket(bucket, client: client)
    }

    @Test func anUploadNoCheckpointNamesIsAbortedAndStartedAnew() async throws {
        let client = S3IntegrationTests.client(partSize: 5 << 20)
        let bucket = try await S3IntegrationTests.freshBucket(client)
        // A writer that died after its first part, before any checkpoint.
        let orphan = try await client.createMultipartUpload(bucket: bucket, key: "log", contentType: Self.contentType)
        _ = try await client.uploadPart(orphan, number: 1, body: S3IntegrationTests.pseudoRandomBytes(5 << 20))

        let (upload, marker) = try await ResumableUpload.open(client: client, bucket: bucket, key: "log", contentType: Self.contentType)
        #expect(marker == nil)
        let fresh = S3IntegrationTests.pseudoRandomBytes(5 << 20 + 6)
        try await upload.append(fresh, marker: "1")
        let inProgress = try await client.listMultipartUploads(bucket: bucket, prefix: "log")
        #expect(inProgress.count == 1 && !inProgress.contains(orphan.id), "the orphan was aborted, this upload's own remains")
        try await upload.finish()
        #expect(try await client.getObject(bucket: bucket, key: "log") == fresh)
        #expect(try await client.listMultipartUploads(bucket: bucket, prefix: "log").isEmpty)
        try await S3IntegrationTests.removeBucket(bucket, client: client)
    }
}
