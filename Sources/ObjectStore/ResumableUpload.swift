import Foundation

/// An upload that outlives the process writing it. The object goes up as a multipart upload
/// once it outgrows one part; beside it, a small checkpoint object records the parts done, the
/// bytes not yet in a part, and a marker of the caller's (where its source stands, e.g. a log
/// position). Another process can then carry on from the checkpoint instead of starting over.
/// Used by one task at a time.
public final class ResumableUpload {
    private let client: S3Client
    public let bucket: String
    public let key: String
    private let contentType: String
    private var uploadID: String?
    private var parts: [Part] = []
    private var tail: [UInt8] = []
    private var checkpointed = false
    private var orphansAborted = false
    /// Bytes stored so far, in parts and in the tail.
    public private(set) var size = 0

    struct Part: Codable, Sendable {
        var number: Int
        var etag: String
        var size: Int
    }

    /// What the checkpoint object holds before the tail's bytes (one JSON line).
    struct Checkpoint: Codable {
        var uploadID: String?
        var parts: [Part]
        var marker: String
    }

    /// Where checkpoints live: beside the objects, out of their way.
    public static func checkpointKey(for key: String) -> String { ".cloud-worker/checkpoints/\(key)" }

    private init(client: S3Client, bucket: String, key: String, contentType: String) {
        self.client = client
        self.bucket = bucket
        self.key = key
        self.contentType = contentType
    }

    /// Starts an upload of a key that no earlier writer can have begun (the caller knows): nothing
    /// is looked up, so a log of one part is one PUT.
    public static func start(client: S3Client, bucket: String, key: String, contentType: String) -> ResumableUpload {
        ResumableUpload(client: client, bucket: bucket, key: key, contentType: contentType)
    }

    /// Opens the upload of `key`: from its checkpoint if an earlier writer left one whose
    /// multipart upload still exists, else anew. Multipart uploads of the key that no
    /// checkpoint names (a writer that died before its first one) are aborted: here when there
    /// is a checkpoint, else once this upload needs a multipart upload of its own, so that a
    /// log of one part costs no listing.
    /// - Returns: the upload, and the marker of its checkpoint (nil when it starts anew).
    public static func open(client: S3Client, bucket: String, key: String, contentType: String) async throws -> (
        ResumableUpload, marker: String?
    ) {
        let upload = ResumableUpload(client: client, bucket: bucket, key: key, contentType: contentType)
        guard let saved = try await upload.readCheckpoint() else { return (upload, nil) }
        let inProgress = try await upload.abortOrphans(keeping: saved.checkpoint.uploadID)
        guard saved.checkpoint.uploadID.map(inProgress.contains) ?? true else { return (upload, nil) }
        upload.uploadID = saved.checkpoint.uploadID
        upload.parts = saved.checkpoint.parts
        upload.tail = saved.tail
        upload.size = saved.checkpoint.parts.reduce(0) { $0 + $1.size } + saved.tail.count
        upload.checkpointed = true
        return (upload, saved.checkpoint.marker)
    }

    /// Adds bytes; every full part goes up at once and is then checkpointed with `marker`,
    /// which must say where the source stands after these bytes.
    public func append(_ bytes: [UInt8], marker: @autoclosure () -> String) async throws {
        tail += bytes
        size += bytes.count
        let partSize = client.configuration.partSize
        guard tail.count >= partSize else { return }
        if uploadID == nil {
            if !orphansAborted { _ = try await abortOrphans(keeping: nil) }
            uploadID = try await client.createMultipartUpload(bucket: bucket, key: key, contentType: contentType).id
        }
        while tail.count >= partSize {
            try await uploadPart(Array(tail.prefix(partSize)))
            tail.removeFirst(partSize)
        }
        try await checkpoint(marker: marker())
    }

    /// Saves the parts, the tail and `marker`, so that another writer can carry on from here.
    public func checkpoint(marker: String) async throws {
        let header = try JSONEncoder().encode(Checkpoint(uploadID: uploadID, parts: parts, marker: marker))
        try await client.putObject(
            bucket: bucket, key: Self.checkpointKey(for: key), body: [UInt8](header) + [10] + tail, contentType: "application/octet-stream")
        checkpointed = true
    }

    /// Stores the object (one PUT, or the last part and the completion) and removes the
    /// checkpoint. - Returns: its size.
    @discardableResult
    public func finish() async throws -> Int {
        if uploadID == nil {
            try await client.putObject(bucket: bucket, key: key, body: tail, contentType: contentType)
        } else {
            if !tail.isEmpty || parts.isEmpty { try await uploadPart(tail) }
            var upload = MultipartUpload(bucket: bucket, key: key, id: uploadID!)
            for part in parts { upload.setETag(part.etag, part: part.number) }
            try await client.completeMultipartUpload(upload)
        }
        tail = []
        if checkpointed { try await client.deleteObject(bucket: bucket, key: Self.checkpointKey(for: key)) }
        return size
    }

    /// Aborts the key's multipart uploads other than `kept`. - Returns: those in progress before.
    private func abortOrphans(keeping kept: String?) async throws -> [String] {
        let inProgress = try await client.listMultipartUploads(bucket: bucket, prefix: key, exactKey: true)
        for id in inProgress where id != kept {
            try? await client.abortMultipartUpload(MultipartUpload(bucket: bucket, key: key, id: id))
        }
        orphansAborted = true
        return inProgress
    }

    private func uploadPart(_ body: [UInt8]) async throws {
        let number = (parts.last?.number ?? 0) + 1
        let upload = MultipartUpload(bucket: bucket, key: key, id: uploadID!)
        parts.append(Part(number: number, etag: try await client.uploadPart(upload, number: number, body: body), size: body.count))
    }

    private func readCheckpoint() async throws -> (checkpoint: Checkpoint, tail: [UInt8])? {
        let body: [UInt8]
        do {
            body = try await client.getObject(bucket: bucket, key: Self.checkpointKey(for: key))
        } catch let error as S3Error where error.status == 404 {
            return nil
        }
        guard let newline = body.firstIndex(of: 10),
            let checkpoint = try? JSONDecoder().decode(Checkpoint.self, from: Data(body[..<newline]))
        else { return nil }  // unreadable: start over
        return (checkpoint, Array(body[(newline + 1)...]))
    }
}
