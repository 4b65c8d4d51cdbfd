import Backoff
import Foundation
import HTTPTransport
import Logging
import Metrics

/// An S3 client for AWS and S3-compatible stores: SigV4-signed requests over libcurl, retried
/// with capped backoff where a retry can help.
public final class S3Client: Sendable {
    public let configuration: S3Configuration
    private let http: HTTPClient
    private let signer: SigV4Signer
    private let scheme: String
    private let authority: String
    private let logger: Logger

    public init(configuration: S3Configuration, http: HTTPClient, logger: Logger) {
        self.configuration = configuration
        self.http = http
        self.logger = logger
        self.signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region)
        let parts = configuration.endpoint.split(separator: "://", maxSplits: 1)
        self.scheme = parts.count == 2 ? String(parts[0]) : "https"
        self.authority = String((parts.count == 2 ? parts[1] : parts[0]).prefix { $0 != "/" })
    }

    // MARK: - Objects

    /// A URL that lets whoever holds it GET the object for `expires` seconds from `date`
    /// (SigV4 query authentication), e.g. a link to an archived log.
    public func presignedURL(bucket: String, key: String, expires: Int, date: Date = Date()) -> String {
        let (host, path) = address(bucket: bucket, key: key)
        let request = SigV4Signer.Request(method: "GET", path: path, headers: [("host", host)], payloadHash: SigV4Signer.unsignedPayload)
        return url(host: host, path: path, query: signer.presignedQuery(for: request, date: date, expires: expires))
    }

    /// Stores `body` under `key`.
    public func putObject(bucket: String, key: String, body: [UInt8], contentType: String = "application/octet-stream") async throws {
        _ = try await send("PUT", bucket: bucket, key: key, headers: [("Content-Type", contentType)], body: body)
    }

    /// The whole object.
    public func getObject(bucket: String, key: String) async throws -> [UInt8] {
        try await send("GET", bucket: bucket, key: key).body
    }

    /// Streams an object to `sink` chunk by chunk, in constant memory whatever its size.
    /// - Returns: the number of bytes read.
    @discardableResult
    public func getObject(bucket: String, key: String, into sink: ([UInt8]) async throws -> Void) async throws -> Int {
        let operation = "GET \(bucket)/\(key)"
        var request = signedRequest(
            "GET", bucket: bucket, key: key, query: [], headers: [], body: [], payloadHash: SigV4Signer.emptyPayloadHash)
        request.totalTimeout = 0  // a large object may take long; the connect timeout still applies
        let stream: HTTPStream
        do {
            stream = try await http.stream(request)
        } catch let error as HTTPError {
            throw S3Error.transport(error, operation: operation)
        }
        guard (200..<300).contains(stream.status) else {
            throw S3Error.from(status: stream.status, body: try await stream.collect(), operation: operation)
        }
        var total = 0
        do {
            while let chunk = try await stream.next() {
                total += chunk.count
                try await sink(chunk)
            }
        } catch {
            stream.cancel()
            throw (error as? HTTPError).map { S3Error.transport($0, operation: operation) } ?? error
        }
        return total
    }

    /// Size, type and ETag of an object, or nil if it does not exist.
    public func headObject(bucket: String, key: String) async throws -> ObjectInfo? {
        do {
            let response = try await send("HEAD", bucket: bucket, key: key)
            return ObjectInfo(
                key: key,
                size: Int(response.headers["Content-Length"] ?? "") ?? 0,
                etag: response.headers["ETag"] ?? "",
                contentType: response.headers["Content-Type"]
            )
        } catch let error as S3Error where error.status == 404 {
            return nil
        }
    }

    public func deleteObject(bucket: String, key: String) async throws {
        _ = try await send("DELETE", bucket: bucket, key: key)
    }

    /// Every object under `prefix`, following ListObjectsV2 continuation tokens.
    public func listObjects(bucket: String, prefix: String = "") async throws -> [ObjectInfo] {
        var objects: [ObjectInfo] = []
        var token: String?
        repeat {
            var query: [(name: String, value: String)] = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            let xml = XMLFields(try await send("GET", bucket: bucket, query: query).body)
            for entry in xml.elements("Contents") {
                let fields = XMLFields(entry)
                objects.append(
                    ObjectInfo(
                        key: fields.first("Key") ?? "",
                        size: Int(fields.first("Size") ?? "") ?? 0,
                        etag: fields.first("ETag") ?? "",
                        contentType: nil
                    )
                )
            }
            token = xml.first("IsTruncated") == "true" ? xml.first("NextContinuationToken") : nil
        } while token != nil
        return objects
    }

    // MARK: - Buckets

    public func bucketExists(_ bucket: String) async throws -> Bool {
        do {
            _ = try await send("HEAD", bucket: bucket)
            return true
        } catch let error as S3Error where error.status == 404 {
            return false
        }
    }

    /// Creates `bucket`; a bucket we already own counts as created.
    public func createBucket(_ bucket: String) async throws {
        var body: [UInt8] = []
        if configuration.region != "us-east-1" {
            body = Array(
                ("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                    + "<LocationConstraint>\(configuration.region)</LocationConstraint></CreateBucketConfiguration>").utf8
            )
        }
        do {
            _ = try await send("PUT", bucket: bucket, body: body)
        } catch let error as S3Error where error.code == "BucketAlreadyOwnedByYou" {
            return
        }
    }

    // MARK: - Requests

    /// The body's SHA-256, as its signature names it. A part of a large log (8 MB by default)
    /// takes milliseconds to hash, which the transfer thread would otherwise spend.
    private static func payloadHash(of body: [UInt8]) async -> String {
        if body.isEmpty { return SigV4Signer.emptyPayloadHash }
        if body.count < 1 << 20 { return Digest.hex(Digest.sha256(body)) }
        return await HTTPClient.offTransferThread { Digest.hex(Digest.sha256(body)) }
    }

    /// Signs and sends one request, retrying where it may help; S3 errors become `S3Error`.
    func send(
        _ method: String,
        bucket: String,
        key: String = "",
        query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [],
        body: [UInt8] = []
    ) async throws -> HTTPResponse {
        let operation = "\(method) \(bucket)/\(key)"
        let payloadHash = await Self.payloadHash(of: body)
        var retry = configuration.retry.start()
        while true {
            Counter(label: "cloud_worker_s3_requests_total", dimensions: [("method", method)]).increment()
            do {
                let response = try await http.send(
                    signedRequest(method, bucket: bucket, key: key, query: query, headers: headers, body: body, payloadHash: payloadHash))
                if (200..<300).contains(response.status) { return response }
                throw S3Error.from(status: response.status, body: response.body, operation: operation)
            } catch let error as HTTPError {
                try await backoff(S3Error.transport(error, operation: operation), &retry)
            } catch let error as S3Error {
                try await backoff(error, &retry)
            }
        }
    }

    /// Waits before the next attempt, or throws `error` when it cannot pass or patience is spent.
    private func backoff(_ error: S3Error, _ retry: inout Retry) async throws {
        guard error.isRetryable else { throw error }
        logger.warning("S3 request failed, retrying", metadata: ["error": "\(error)", "attempt": "\(retry.failures + 1)"])
        try await retry.backoff(after: error)
    }

    private func signedRequest(
        _ method: String,
        bucket: String,
        key: String,
        query: [(name: String, value: String)],
        headers: [(name: String, value: String)],
        body: [UInt8],
        payloadHash: String
    ) -> HTTPRequest {
        let (host, path) = address(bucket: bucket, key: key)
        var allHeaders = headers + [("Host", host)]
        if !body.isEmpty || method == "PUT" || method == "POST" { allHeaders.append(("Content-Length", "\(body.count)")) }
        let toSign = SigV4Signer.Request(method: method, path: path, query: query, headers: allHeaders, payloadHash: payloadHash)
        allHeaders += signer.signingHeaders(for: toSign, date: Date())
        return HTTPRequest(
            method: method, url: url(host: host, path: path, query: query), headers: allHeaders, body: body, totalTimeout: 300)
    }

    /// The host and the path (encoded) of an object, by the configured addressing style.
    private func address(bucket: String, key: String) -> (host: String, path: String) {
        let encodedKey = PercentEncoding.encode(key, keepingSlash: true)
        if configuration.pathStyle {
            return (authority, "/\(bucket)" + (key.isEmpty ? "" : "/\(encodedKey)"))
        }
        return ("\(bucket).\(authority)", "/\(encodedKey)")
    }

    private func url(host: String, path: String, query: [(name: String, value: String)]) -> String {
        let queryString = query.map {
            $0.value.isEmpty ? PercentEncoding.encode($0.name) : "\(PercentEncoding.encode($0.name))=\(PercentEncoding.encode($0.value))"
        }
        .joined(separator: "&")
        return "\(scheme)://\(host)\(path)" + (queryString.isEmpty ? "" : "?\(queryString)")
    }
}

/// What a listing or HEAD says of an object.
public struct ObjectInfo: Sendable, Equatable {
    public var key: String
    public var size: Int
    public var etag: String
    public var contentType: String?
}
