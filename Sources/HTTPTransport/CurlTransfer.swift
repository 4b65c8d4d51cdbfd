import Synchronization

/// One request on its way through a `CurlMultiLoop`: made by the caller, then handed to the
/// loop, whose thread alone touches its transfer state and calls its sink.
final class CurlTransfer: @unchecked Sendable {
    let request: HTTPRequest
    let tls: TLSConfiguration
    let sink: ResponseSink
    /// Called once, on the loop's thread, when the transfer has ended.
    let completion: (Result<Void, HTTPError>) -> Void
    /// Set by `CurlMultiLoop.cancel`, for a transfer cancelled before the loop started it.
    let cancelRequested = Atomic(false)

    // MARK: - Loop thread only

    var uploadOffset = 0
    var headers = HTTPHeaders()
    var status = 0
    var headDelivered = false
    /// The sink refused data: the transfer ends as cancelled, whatever libcurl says.
    var aborted = false

    init(
        request: HTTPRequest, tls: TLSConfiguration, sink: ResponseSink, completion: @escaping (Result<Void, HTTPError>) -> Void
    ) {
        self.request = request
        self.tls = tls
        self.sink = sink
        self.completion = completion
    }

    func deliverHeadIfNeeded(status: Int) {
        guard !headDelivered else { return }
        headDelivered = true
        sink.receiveHead(status, headers)
    }

    /// The error for a transfer stopped by its caller.
    var cancellation: HTTPError {
        HTTPError(kind: .cancelled, curlCode: 0, message: "cancelled", target: target)
    }

    var target: String { "\(request.method) \(request.url.prefix { $0 != "?" })" }
}
