import Foundation

/// The threads that run blocking libcurl transfers, so that they never occupy Swift's cooperative
/// pool. Each pooled thread keeps one easy handle, and with it its open connections.
final class TransferThreads: Sendable {
    private let queue = WorkQueue()

    init(count: Int) {
        for index in 0..<count {
            let thread = Thread { [queue] in
                let easy = CurlEasy()
                while let work = queue.next() { work(easy) }
            }
            thread.name = "http-\(index)"
            thread.start()
        }
    }

    deinit {
        queue.close()
    }

    /// Runs `work` on a pooled thread with that thread's handle.
    func submit(_ work: @escaping @Sendable (CurlEasy) -> Void) {
        queue.append(work)
    }

    /// Runs `work` on a thread of its own, for transfers that last (watches, followed logs).
    static func detach(name: String, _ work: @escaping @Sendable (CurlEasy) -> Void) {
        let thread = Thread { work(CurlEasy()) }
        thread.name = name
        thread.start()
    }
}

/// A closable FIFO of work items that pooled threads block on.
private final class WorkQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [@Sendable (CurlEasy) -> Void] = []
    private var head = 0
    private var closed = false

    func append(_ work: @escaping @Sendable (CurlEasy) -> Void) {
        condition.lock()
        items.append(work)
        condition.unlock()
        condition.signal()
    }

    func next() -> (@Sendable (CurlEasy) -> Void)? {
        condition.lock()
        defer { condition.unlock() }
        while head == items.count && !closed { condition.wait() }
        guard head < items.count else { return nil }
        let work = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        }
        return work
    }

    func close() {
        condition.lock()
        closed = true
        condition.unlock()
        condition.broadcast()
    }
}
