import Foundation

/// HTTP over libcurl for the worker's clients (S3, Kubernetes). Every transfer of every client
/// runs on the process's one libcurl multi loop; callers simply `await`.
public final class HTTPClient: Sendable {
    private let loop = CurlMultiLoop.shared
    private let tls: TLSConfiguration

    /// - Parameter tls: how servers are verified; verification is on by default.
    public init(tls: TLSConfiguration = TLSConfiguration()) {
        self.tls = tls
    }

    /// The thread every transfer runs on, as an executor: tasks that prefer it
    /// (`withTaskExecutorPreference`) handle responses without a hop to another thread.
    public static var transferExecutor: any TaskExecutor { CurlMultiLoop.shared }

    /// Runs CPU-heavy `work` on the shared pool, off the transfer thread: the transfers and
    /// the tasks that run there do not wait for it.
    public static func offTransferThread<T: Sendable>(_ work: @Sendable () -> T) async -> T {
        await withTaskExecutorPreference(globalConcurrentExecutor) { work() }
    }

    /// Sends a request and returns the whole response.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let response = ResponseCollector()
        let transfer = CurlTransfer(request: request, tls: tls, sink: response.sink, completion: response.complete)
        let loop = self.loop
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                response.continuation = continuation
                loop.start(transfer)
            }
        } onCancel: {
            loop.cancel(transfer)
        }
    }

    /// Starts a request whose body is read as it arrives; returns once the headers are in.
    /// - Parameter bufferLimit: bytes held between the network and the reader before the
    ///   transfer pauses until the reader catches up.
    public func stream(_ request: HTTPRequest, bufferLimit: Int = 1 << 20) async throws -> HTTPStream {
        let channel = ByteChannel(limit: bufferLimit)
        let head = StreamHead(channel: channel)
        let transfer = CurlTransfer(request: request, tls: tls, sink: head.sink, completion: head.complete)
        let loop = self.loop
        channel.connect(resume: { loop.resume(transfer) }, cancel: { loop.cancel(transfer) })
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                head.continuation = continuation
                loop.start(transfer)
            }
        } onCancel: {
            loop.cancel(transfer)
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

    /// Ends the transfer early.
    public func cancel() {
        channel.cancel()
    }
}

/// A whole response, gathered on the transfer thread. The continuation is set before the
/// transfer starts, and everything else is touched by the transfer thread alone.
private final class ResponseCollector: @unchecked Sendable {
    var continuation: CheckedContinuation<HTTPResponse, any Error>?
    private var status = 0
    private var headers = HTTPHeaders()
    private var body: [UInt8] = []

    var sink: ResponseSink {
        ResponseSink(
            receiveHead: { [self] in
                status = $0
                headers = $1
            },
            receiveData: { [self] in
                body.append(contentsOf: $0)
                return .accept
            })
    }

    func complete(_ result: Result<Void, HTTPError>) {
        continuation?.resume(with: result.map { HTTPResponse(status: status, headers: headers, body: body) }.mapError { $0 })
        continuation = nil
    }
}

/// The head of a streamed response: the caller waits for it, and the body goes to the channel.
private final class StreamHead: @unchecked Sendable {
    var continuation: CheckedContinuation<HTTPStream, any Error>?
    private let channel: ByteChannel

    init(channel: ByteChannel) {
        self.channel = channel
    }

    var sink: ResponseSink {
        ResponseSink(
            receiveHead: { [self] status, headers in
                continuation?.resume(returning: HTTPStream(status: status, headers: headers, channel: channel))
                continuation = nil
            },
            receiveData: { [channel] in channel.offer($0) })
    }

    /// The end of the transfer: the stream's end once the head was delivered, else the error.
    func complete(_ result: Result<Void, HTTPError>) {
        if let continuation {
            self.continuation = nil
            continuation.resume(throwing: result.failure ?? HTTPError(kind: .other, curlCode: 0, message: "no response", target: ""))
        } else {
            channel.finish(result)
        }
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
