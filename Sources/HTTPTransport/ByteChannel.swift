import Foundation

/// Hands body chunks from a transfer thread to an async reader, blocking the thread while the
/// reader is `limit` bytes behind, so that memory stays bounded whatever the body's size.
final class ByteChannel: @unchecked Sendable {
    private let condition = NSCondition()
    private var chunks: [[UInt8]] = []
    private var bufferedBytes = 0
    private var end: Result<Void, HTTPError>?
    private var reader: CheckedContinuation<[UInt8]?, any Error>?
    private var cancelled = false
    private let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    // MARK: - Transfer thread side

    /// Queues a chunk; false once the reader has gone.
    func send(_ bytes: UnsafeRawBufferPointer) -> Bool {
        condition.lock()
        while bufferedBytes >= limit && !cancelled { condition.wait() }
        guard !cancelled else {
            condition.unlock()
            return false
        }
        let chunk = [UInt8](bytes)
        if let reader {
            self.reader = nil
            condition.unlock()
            reader.resume(returning: chunk)
            return true
        }
        chunks.append(chunk)
        bufferedBytes += chunk.count
        condition.unlock()
        return true
    }

    func finish(_ result: Result<Void, HTTPError>) {
        condition.lock()
        end = result
        let reader = chunks.isEmpty ? self.reader : nil
        if reader != nil { self.reader = nil }
        condition.unlock()
        reader?.resume(with: result.map { nil }.mapError { $0 as any Error })
    }

    var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }

    // MARK: - Reader side

    /// The next chunk, or nil at the end of the body.
    func next() async throws -> [UInt8]? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                condition.lock()
                if !chunks.isEmpty {
                    let chunk = chunks.removeFirst()
                    bufferedBytes -= chunk.count
                    condition.unlock()
                    condition.signal()
                    continuation.resume(returning: chunk)
                } else if let end {
                    condition.unlock()
                    continuation.resume(with: end.map { nil }.mapError { $0 as any Error })
                } else if cancelled {
                    condition.unlock()
                    continuation.resume(throwing: CancellationError())
                } else {
                    reader = continuation
                    condition.unlock()
                }
            }
        } onCancel: {
            cancel()
        }
    }

    /// Stops the transfer: the thread's next callback aborts it.
    func cancel() {
        condition.lock()
        cancelled = true
        let reader = self.reader
        self.reader = nil
        condition.unlock()
        condition.broadcast()
        reader?.resume(throwing: CancellationError())
    }
}
