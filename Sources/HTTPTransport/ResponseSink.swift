/// Where a transfer delivers its response, called on its client's transfer thread.
struct ResponseSink {
    /// What becomes of a piece of the body.
    enum Decision {
        /// Taken.
        case accept
        /// Not taken now: the transfer stops reading from the network until it is resumed, and
        /// then offers the same bytes again.
        case pause
        /// The reader is gone: the transfer ends as cancelled.
        case abort
    }

    /// The status and headers, once, before any body bytes.
    var receiveHead: (Int, HTTPHeaders) -> Void
    var receiveData: (UnsafeRawBufferPointer) -> Decision
}
