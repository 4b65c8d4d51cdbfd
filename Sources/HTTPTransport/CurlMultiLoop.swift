internal import CCurl
internal import CCurlShim
import Foundation
import Synchronization

/// The one thread that runs every transfer of the process through one libcurl multi handle: a
/// thousand open watches and log streams cost one thread, and share its connections (a
/// transfer's TLS settings are its own, and libcurl reuses a connection only for the same ones).
/// It drives libcurl's socket API over epoll: libcurl names the sockets to watch and its next
/// timeout, and each ready socket is handed to it alone, so an event costs the same with ten
/// open transfers or a thousand. Other threads only queue commands for it and wake it through
/// an eventfd; libcurl is called on the loop's thread alone. It is also a task executor: the
/// worker's tasks run on it, between its rounds of I/O.
final class CurlMultiLoop: @unchecked Sendable {
    /// The loop of every `HTTPClient`; it lives as long as the process.
    static let shared = CurlMultiLoop()

    private enum Command {
        case start(CurlTransfer)
        case resume(CurlTransfer)
        case cancel(CurlTransfer)
    }

    private struct Running {
        let transfer: CurlTransfer
        let easy: CurlEasy
        let headerList: UnsafeMutablePointer<curl_slist>?
    }

    private let multi: UnsafeMutableRawPointer
    private let epoll: Int32
    private let wakeup: Int32
    private let inbox = Mutex<Inbox>(Inbox())
    /// The loop's thread, once it runs: what it queues for itself needs no wake-up.
    private let loopThread = Mutex<pthread_t?>(nil)

    /// What other threads (and tasks run here) leave for the loop. Only an arrival in an empty
    /// inbox wakes the loop: the ones after it are taken together with it.
    private struct Inbox {
        var commands: [Command] = []
        var jobs: [UnownedJob] = []
        var isEmpty: Bool { commands.isEmpty && jobs.isEmpty }
    }

    // MARK: - Loop thread only
    private var running: [UnsafeMutableRawPointer: Running] = [:]
    private var easyOf: [ObjectIdentifier: UnsafeMutableRawPointer] = [:]
    /// Handles kept for reuse; the multi handle keeps the connections.
    private var idle: [CurlEasy] = []
    private static let idleLimit = 8
    /// When libcurl wants `curl_multi_socket_action` called for its timeouts; nil: not at all.
    private var timerDue: ContinuousClock.Instant?
    /// libcurl's count of running transfers, which `curl_multi_socket_action` writes.
    private var stillRunning: Int32 = 0

    private init() {
        CurlRuntime.ensureInitialised()
        guard let multi = curl_multi_init() else { fatalError("curl_multi_init returned NULL") }
        self.multi = multi
        epoll = cw_epoll_create()
        wakeup = cw_eventfd()
        guard epoll >= 0, wakeup >= 0, cw_epoll_watch(epoll, wakeup, Int32(CURL_POLL_IN), 0) == 0 else {
            fatalError("the transfer loop's epoll could not be set up: errno \(errno)")
        }
        let loop = Unmanaged.passUnretained(self).toOpaque()
        let sockets: cw_curl_socket_callback = { _, socket, what, loop, known in
            Unmanaged<CurlMultiLoop>.fromOpaque(loop!).takeUnretainedValue().watch(socket, what, known: known != nil)
        }
        let timer: cw_curl_timer_callback = { _, milliseconds, loop in
            let due: ContinuousClock.Instant? = milliseconds < 0 ? nil : .now + .milliseconds(milliseconds)
            Unmanaged<CurlMultiLoop>.fromOpaque(loop!).takeUnretainedValue().timerDue = due
            return 0
        }
        guard cw_curl_multi_set_callbacks(multi, sockets, timer, loop) == CURLM_OK else {
            fatalError("libcurl refused the transfer loop's socket callbacks")
        }
        Thread { [self] in run() }.start()
    }

    /// Starts the transfer; its completion is called on the loop's thread when it ends.
    func start(_ transfer: CurlTransfer) {
        send(.start(transfer))
    }

    /// Lets a transfer whose sink paused it read again.
    func resume(_ transfer: CurlTransfer) {
        send(.resume(transfer))
    }

    /// Ends the transfer as cancelled, whether it has started yet or not.
    func cancel(_ transfer: CurlTransfer) {
        transfer.cancelRequested.store(true, ordering: .relaxed)
        send(.cancel(transfer))
    }

    private func send(_ command: Command) {
        let wake = inbox.withLock { inbox in
            let wasEmpty = inbox.isEmpty
            inbox.commands.append(command)
            return wasEmpty
        }
        if wake { wakeIfElsewhere() }
    }

    /// Wakes the loop, unless this is the loop's own thread: it looks at its inbox before it
    /// waits again.
    private func wakeIfElsewhere() {
        if let thread = loopThread.withLock({ $0 }), pthread_equal(thread, pthread_self()) != 0 { return }
        var one: UInt64 = 1
        _ = write(wakeup, &one, 8)
    }

    private func run() {
        loopThread.withLock { $0 = pthread_self() }
        // Named from within, which names it for the OS too (top, perf, gdb): a thread otherwise
        // takes the name of the thread that started it.
        Thread.current.name = "http-transfers"
        let capacity = 64
        var sockets = [Int32](repeating: 0, count: capacity)
        var masks = [Int32](repeating: 0, count: capacity)
        while true {
            let ready = cw_epoll_wait(epoll, &sockets, &masks, Int32(capacity), waitMilliseconds())
            for index in 0..<max(0, Int(ready)) {
                if sockets[index] == wakeup {
                    var count: UInt64 = 0
                    _ = read(wakeup, &count, 8)
                } else {
                    _ = curl_multi_socket_action(multi, sockets[index], masks[index], &stillRunning)
                }
            }
            runDueTimeouts()
            collectEnded()
            runQueued()
        }
    }

    /// Lets libcurl act on what is due now: a transfer just added or unpaused, or one of its
    /// own timeouts.
    private func runDueTimeouts() {
        guard let due = timerDue, due <= .now else { return }
        timerDue = nil
        _ = curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &stillRunning)
    }

    /// Runs what was queued: commands from other threads, and the jobs of tasks that prefer
    /// this loop, which queue more of both. The sockets are looked at again once the queue is
    /// empty, or after a millisecond of it, so that busy tasks cannot hold up the transfers.
    private func runQueued() {
        let until = ContinuousClock.now + .milliseconds(1)
        repeat {
            let queued = inbox.withLock { inbox in
                defer { inbox = Inbox() }
                return inbox
            }
            if queued.isEmpty { return }
            queued.commands.forEach(handle)
            // A request started here goes out now, not after the rest of the queue has run.
            // Whatever ends in that call is completed now too: no socket or timer may be left
            // to wake the loop for it.
            if !queued.commands.isEmpty {
                runDueTimeouts()
                collectEnded()
            }
            for job in queued.jobs { job.runSynchronously(on: asUnownedTaskExecutor()) }
        } while ContinuousClock.now < until
    }

    /// How long epoll may wait: until libcurl's timer is due, or for ever without one; not at all
    /// while something is queued.
    private func waitMilliseconds() -> Int32 {
        if !inbox.withLock({ $0.isEmpty }) { return 0 }
        guard let due = timerDue else { return -1 }
        let left = ContinuousClock.now.duration(to: due)
        guard left > .zero else { return 0 }
        let (seconds, attoseconds) = left.components
        return Int32(min(seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000, 60_000))
    }

    /// libcurl's socket callback: what to watch `socket` for, or to stop.
    private func watch(_ socket: curl_socket_t, _ what: Int32, known: Bool) -> Int32 {
        guard cw_epoll_watch(epoll, socket, what, known ? 1 : 0) == 0 else { return -1 }
        if !known, what != CURL_POLL_REMOVE {
            _ = curl_multi_assign(multi, socket, Unmanaged.passUnretained(self).toOpaque())
        }
        return 0
    }

    private func handle(_ command: Command) {
        switch command {
        case .start(let transfer):
            guard !transfer.cancelRequested.load(ordering: .relaxed) else {
                transfer.completion(.failure(transfer.cancellation))
                return
            }
            let easy = idle.popLast() ?? CurlEasy()
            let headerList = easy.prepare(transfer)
            running[easy.pointer] = Running(transfer: transfer, easy: easy, headerList: headerList)
            easyOf[ObjectIdentifier(transfer)] = easy.pointer
            let added = curl_multi_add_handle(multi, easy.pointer)
            // A transfer libcurl did not take would otherwise never end.
            if added != CURLM_OK {
                end(easy.pointer, reusable: false) { running in
                    .failure(
                        HTTPError(
                            kind: .other, curlCode: Int(added.rawValue), message: String(cString: curl_multi_strerror(added)),
                            target: running.transfer.target))
                }
            }
        case .resume(let transfer):
            guard let handle = easyOf[ObjectIdentifier(transfer)] else { return }
            running[handle]?.easy.unpause()
        case .cancel(let transfer):
            guard let handle = easyOf[ObjectIdentifier(transfer)] else { return }
            end(handle, reusable: false) { .failure($0.transfer.cancellation) }
        }
    }

    /// Ends the transfers libcurl has finished, with their outcome.
    private func collectEnded() {
        var queued: Int32 = 0
        while let message = curl_multi_info_read(multi, &queued) {
            guard message.pointee.msg == CURLMSG_DONE, let handle = message.pointee.easy_handle else { continue }
            let code = message.pointee.data.result
            end(handle, reusable: code == CURLE_OK) { running in running.easy.outcome(of: running.transfer, code: code) }
        }
    }

    /// Removes the transfer's handle and completes it. Only a handle whose transfer libcurl
    /// finished cleanly is kept for reuse: one removed mid-transfer (cancelled, perhaps while
    /// paused) may carry state that `curl_easy_reset` does not clear, and a later transfer on it
    /// then never ran to its end.
    private func end(_ handle: UnsafeMutableRawPointer, reusable: Bool, outcome: (Running) -> Result<Void, HTTPError>) {
        guard let ended = running.removeValue(forKey: handle) else { return }
        easyOf[ObjectIdentifier(ended.transfer)] = nil
        let result = outcome(ended)
        _ = curl_multi_remove_handle(multi, handle)
        curl_slist_free_all(ended.headerList)
        if reusable, idle.count < Self.idleLimit { idle.append(ended.easy) }
        ended.transfer.completion(result)
    }
}

/// Tasks that prefer the loop run on its thread between its rounds of I/O: a response resumes
/// its task where it arrived, with no other thread woken.
extension CurlMultiLoop: TaskExecutor {
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let wake = inbox.withLock { inbox in
            let wasEmpty = inbox.isEmpty
            inbox.jobs.append(job)
            return wasEmpty
        }
        if wake { wakeIfElsewhere() }
    }
}
