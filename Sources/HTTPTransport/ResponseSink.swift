/// Where a transfer delivers its response, called on the transfer's own thread.
struct ResponseSink {
    /// The status and headers, once, before any body bytes.
    var receiveHead: (Int, HTTPHeaders) -> Void
    /// A piece of the body; returning false aborts the transfer.
    var receiveData: (UnsafeRawBufferPointer) -> Bool
    /// Polled while the transfer runs; true aborts it.
    var isCancelled: () -> Bool
}
