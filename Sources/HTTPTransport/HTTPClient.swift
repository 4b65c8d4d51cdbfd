import Foundation

/// HTTP over libcurl for the worker's clients (S3, Kubernetes). Transfers run on threads of their
/// own; callers simply `await`.
public final class HTTPClient: Sendable {
    private let threads: TransferThreads
    private let tls: TLSConfiguration

    /// - Parameters:
    ///   - tls: how servers are verified; verification is on by default.
    ///   - concurrentRequests: pooled threads, each keeping its connections open.
    public init(tls: TLSConfiguration = TLSConfiguration(), concurrentRequests: Int = 4) {
        self.tls = tls
        self.threads = TransferThreads(count: concurrentRequests)
    }

    /// Sends a request and returns the whole response.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let cancellation = CancellationFlag()
        let tls = self.tls
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                threads.submit { easy in
                    var status = 0
                    var headers = HTTPHeaders()
                    var body: [UInt8] = []
                    let sink = ResponseSink(
                        receiveHead: {
                            status = $0; headers = $1
                        },
                        receiveData: {
                            body.append(contentsOf: $0); return true
                        },
                        isCancelled: { cancellation.isSet }
                    )
                    do {
                        try easy.perform(request, tls: tls, sink: sink)
                        continuation.resume(returning: HTTPResponse(status: status, headers: headers, body: body))
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
            }
        } onCancel: {
            cancellation.set()
        }
    }

    /// Starts a request whose body is read as it arrives; returns once the headers are in.
    /// - Parameter bufferLimit: bytes held between the network and the reader before the
    ///   transfer waits for the reader.
    public func stream(_ request: HTTPRequest, bufferLimit: Int = 1 << 20) async throws -> HTTPStream {
        let channel = ByteChannel(limit: bufferLimit)
        let tls = self.tls
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPStream, any Error>) in
            TransferThreads.detach(name: "http-stream") { easy in
                var headReported = false
                let sink = ResponseSink(
                    receiveHead: { status, headers in
                        headReported = true
                        continuation.resume(returning: HTTPStream(status: status, headers: headers, channel: channel))
                    },
                    receiveData: { channel.send($0) },
                    isCancelled: { channel.isCancelled }
                )
                do throws(HTTPError) {
                    try easy.perform(request, tls: tls, sink: sink)
                    channel.finish(.success(()))
                } catch {
                    if headReported {
                        channel.finish(.failure(error))
                    } else {
                        continuation.resume(throwing: error)
                    }
                }
            }
        }
    }
}

/// A response whose body arrives in chunks, with backpressure toward the server.
public struct HTTPStream: Sendable {
    public let status: Int
    public let headers: HTTPHeaders
    fileprivate let channel: ByteChannel

    /// The next piece of the body, or nil at its end.
    public func next() async throws -> [UInt8]? {
        try await channel.next()
    }

    /// Reads the rest of the body into memory (for error bodies).
    public func collect(limit: Int = 1 << 20) async throws -> [UInt8] {
        var body: [UInt8] = []
        while let chunk = try await next(), body.count < limit { body += chunk }
        return body
    }

    /// Ends the transfer early; the transfer thread stops at its next callback.
    public func cancel() {
        channel.cancel()
    }
}

/// A flag set from a task's cancellation handler and read on a transfer thread.
final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return value
    }

    func set() {
        lock.lock()
        value = true
        lock.unlock()
    }
}
