import Foundation

/// Hands body chunks from a client's transfer thread to an async reader. While the reader is
/// `limit` bytes behind, the transfer is paused (it stops reading from the network) and resumed
/// once the reader catches up, so memory stays bounded whatever the body's size and no thread
/// waits.
final class ByteChannel: @unchecked Sendable {
    private let lock = NSLock()
    private var chunks: [[UInt8]] = []
    private var bufferedBytes = 0
    private var end: Result<Void, HTTPError>?
    private var reader: CheckedContinuation<[UInt8]?, any Error>?
    private var cancelled = false
    private var paused = false
    private let limit: Int
    /// Lets the paused transfer read again; stops it for good. Dropped at the end, for the
    /// transfer (whose sink holds this channel) to go.
    private var resumeTransfer: (@Sendable () -> Void)?
    private var cancelTransfer: (@Sendable () -> Void)?

    init(limit: Int) {
        self.limit = limit
    }

    /// Connects the channel to its transfer, before the transfer starts.
    func connect(resume: @escaping @Sendable () -> Void, cancel: @escaping @Sendable () -> Void) {
        lock.lock()
        resumeTransfer = resume
        cancelTransfer = cancel
        lock.unlock()
    }

    // MARK: - Transfer side

    /// Takes a chunk, or pauses the transfer while the reader is behind.
    func offer(_ bytes: UnsafeRawBufferPointer) -> ResponseSink.Decision {
        lock.lock()
        guard !cancelled else {
            lock.unlock()
            return .abort
        }
        if let reader {
            self.reader = nil
            lock.unlock()
            reader.resume(returning: [UInt8](bytes))
            return .accept
        }
        guard bufferedBytes < limit else {
            paused = true
            lock.unlock()
            return .pause
        }
        chunks.append([UInt8](bytes))
        bufferedBytes += bytes.count
        lock.unlock()
        return .accept
    }

    func finish(_ result: Result<Void, HTTPError>) {
        lock.lock()
        end = result
        resumeTransfer = nil
        cancelTransfer = nil
        let reader = chunks.isEmpty ? self.reader : nil
        if reader != nil { self.reader = nil }
        lock.unlock()
        reader?.resume(with: result.map { nil }.mapError { $0 as any Error })
    }

    // MARK: - Reader side

    /// The next chunk, or nil at the end of the body.
    func next() async throws -> [UInt8]? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                lock.lock()
                // Once cancelled, always CancellationError: not the chunks still buffered, nor
                // the transfer's own end, which a cancel makes race with this call.
                if cancelled {
                    lock.unlock()
                    continuation.resume(throwing: CancellationError())
                } else if !chunks.isEmpty {
                    let chunk = chunks.removeFirst()
                    bufferedBytes -= chunk.count
                    let resume = paused && bufferedBytes < limit ? resumeTransfer : nil
                    if resume != nil { paused = false }
                    lock.unlock()
                    resume?()
                    continuation.resume(returning: chunk)
                } else if let end {
                    lock.unlock()
                    continuation.resume(with: end.map { nil }.mapError { $0 as any Error })
                } else {
                    reader = continuation
                    lock.unlock()
                }
            }
        } onCancel: {
            cancel()
        }
    }

    /// Stops the transfer, and a reader waiting on it.
    func cancel() {
        lock.lock()
        let stop = cancelled ? nil : cancelTransfer
        cancelled = true
        let reader = self.reader
        self.reader = nil
        lock.unlock()
        stop?()
        reader?.resume(throwing: CancellationError())
    }
}
