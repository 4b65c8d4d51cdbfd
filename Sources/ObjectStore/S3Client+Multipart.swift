import Foundation
import HTTPTransport

extension S3Client {
    /// Uploads what `source` yields under `key` in constant memory: one PUT when it all fits
    /// below the multipart threshold, else a multipart upload of `partSize` parts, up to
    /// `concurrentParts` of them in flight, aborted if anything fails so that no orphan upload
    /// is left behind.
    /// - Parameter source: the next chunk of the object, or nil at its end.
    /// - Returns: the number of bytes stored.
    @discardableResult
    public func upload(
        bucket: String,
        key: String,
        contentType: String,
        from source: () async throws -> [UInt8]?
    ) async throws -> Int {
        let partSize = configuration.partSize
        var upload: MultipartUpload?
        do {
            return try await withThrowingTaskGroup(of: (number: Int, etag: String).self) { parts in
                var buffer: [UInt8] = []
                var total = 0
                var inFlight = 0
                var nextPart = 1
                while let chunk = try await source() {
                    buffer += chunk
                    total += chunk.count
                    if upload == nil {
                        guard buffer.count >= configuration.multipartThreshold else { continue }
                        upload = try await createMultipartUpload(bucket: bucket, key: key, contentType: contentType)
                    }
                    while buffer.count >= partSize {
                        if inFlight == configuration.concurrentParts, let done = try await parts.next() {
                            upload!.setETag(done.etag, part: done.number)
                            inFlight -= 1
                        }
                        let part = Array(buffer.prefix(partSize))
                        buffer.removeFirst(partSize)
                        let (number, started) = (nextPart, upload!)
                        parts.addTask { (number, try await self.uploadPart(started, number: number, body: part)) }
                        nextPart += 1
                        inFlight += 1
                    }
                }
                guard upload != nil else {
                    try await putObject(bucket: bucket, key: key, body: buffer, contentType: contentType)
                    return total
                }
                if !buffer.isEmpty {
                    let (number, started, last) = (nextPart, upload!, buffer)
                    parts.addTask { (number, try await self.uploadPart(started, number: number, body: last)) }
                }
                for try await done in parts { upload!.setETag(done.etag, part: done.number) }
                try await completeMultipartUpload(upload!)
                return total
            }
        } catch {
            if let upload { try? await abortMultipartUpload(upload) }
            throw error
        }
    }

    // MARK: - The multipart steps

    public func createMultipartUpload(bucket: String, key: String, contentType: String) async throws -> MultipartUpload {
        let response = try await send("POST", bucket: bucket, key: key, query: [("uploads", "")], headers: [("Content-Type", contentType)])
        guard let id = XMLFields(response.body).first("UploadId") else {
            throw S3Error(
                code: "MalformedResponse", message: "no UploadId in reply", status: response.status,
                operation: "POST \(bucket)/\(key)?uploads")
        }
        return MultipartUpload(bucket: bucket, key: key, id: id)
    }

    /// Uploads part `number` (from 1) and returns its ETag.
    public func uploadPart(_ upload: MultipartUpload, number: Int, body: [UInt8]) async throws -> String {
        let response = try await send(
            "PUT",
            bucket: upload.bucket,
            key: upload.key,
            query: [("partNumber", "\(number)"), ("uploadId", upload.id)],
            body: body
        )
        guard let etag = response.headers["ETag"] else {
            throw S3Error(
                code: "MalformedResponse", message: "no ETag for part \(number)", status: response.status,
                operation: "PUT \(upload.bucket)/\(upload.key)")
        }
        return etag
    }

    /// Completes the upload; S3 may answer 200 with an error in the body, which is thrown.
    public func completeMultipartUpload(_ upload: MultipartUpload) async throws {
        let parts = upload.etags.enumerated().map {
            "<Part><PartNumber>\($0.offset + 1)</PartNumber><ETag>\(XMLFields.escape($0.element))</ETag></Part>"
        }
        let body = Array(("<CompleteMultipartUpload>" + parts.joined() + "</CompleteMultipartUpload>").utf8)
        let response = try await send(
            "POST", bucket: upload.bucket, key: upload.key, query: [("uploadId", upload.id)],
            headers: [("Content-Type", "application/xml")], body: body)
        if response.bodyText.contains("<Error>") {
            throw S3Error.from(status: response.status, body: response.body, operation: "POST \(upload.bucket)/\(upload.key)?uploadId")
        }
    }

    public func abortMultipartUpload(_ upload: MultipartUpload) async throws {
        _ = try await send("DELETE", bucket: upload.bucket, key: upload.key, query: [("uploadId", upload.id)])
    }

    /// Upload ids in progress under `prefix` (to check that none is left behind), or of the
    /// key `prefix` alone with `exactKey`.
    public func listMultipartUploads(bucket: String, prefix: String = "", exactKey: Bool = false) async throws -> [String] {
        let response = try await send("GET", bucket: bucket, query: [("uploads", ""), ("prefix", prefix)])
        guard exactKey else { return XMLFields(response.body).all("UploadId") }
        return XMLFields(response.body).elements("Upload").map(XMLFields.init).filter { $0.first("Key") == prefix }.compactMap {
            $0.first("UploadId")
        }
    }
}

/// A multipart upload in progress and the ETags of its parts so far.
public struct MultipartUpload: Sendable {
    public let bucket: String
    public let key: String
    public let id: String
    public private(set) var etags: [String] = []

    /// Uploads the next part in order.
    mutating func append(_ part: [UInt8], client: S3Client) async throws {
        etags.append(try await client.uploadPart(self, number: etags.count + 1, body: part))
    }

    /// Records the ETag of a part uploaded out of order.
    mutating func setETag(_ etag: String, part number: Int) {
        while etags.count < number { etags.append("") }
        etags[number - 1] = etag
    }
}
