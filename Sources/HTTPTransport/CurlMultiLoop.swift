internal import CCurl
import Foundation
import Synchronization

/// One thread that runs every transfer of a client through one libcurl multi handle: a thousand
/// open watches and log streams cost one thread, and share its connections. Other threads only
/// queue commands for it and wake it (`curl_multi_wakeup`, the one multi call that is
/// thread-safe); libcurl is called on the loop's thread alone.
final class CurlMultiLoop: Sendable {
    private let core: MultiCore

    init(name: String) {
        core = MultiCore()
        let thread = Thread { [core] in core.run() }
        thread.name = name
        thread.start()
    }

    deinit {
        core.close()
    }

    /// Starts the transfer; its completion is called on the loop's thread when it ends.
    func start(_ transfer: CurlTransfer) {
        core.send(.start(transfer))
    }

    /// Lets a transfer whose sink paused it read again.
    func resume(_ transfer: CurlTransfer) {
        core.send(.resume(transfer))
    }

    /// Ends the transfer as cancelled, whether it has started yet or not.
    func cancel(_ transfer: CurlTransfer) {
        transfer.cancelRequested.store(true, ordering: .relaxed)
        core.send(.cancel(transfer))
    }
}

private enum Command {
    case start(CurlTransfer)
    case resume(CurlTransfer)
    case cancel(CurlTransfer)
}

/// The multi handle and what its thread keeps; the thread holds it, not the `CurlMultiLoop`,
/// so that the loop's `deinit` can stop the thread.
private final class MultiCore: @unchecked Sendable {
    private struct Inbox {
        var commands: [Command] = []
        var closed = false
    }

    private struct Running {
        let transfer: CurlTransfer
        let easy: CurlEasy
        let headerList: UnsafeMutablePointer<curl_slist>?
    }

    private let multi: UnsafeMutableRawPointer
    /// Guards the commands, and the multi handle's life against late wakeups.
    private let inbox = Mutex(Inbox())

    // MARK: - Loop thread only
    private var running: [UnsafeMutableRawPointer: Running] = [:]
    private var easyOf: [ObjectIdentifier: UnsafeMutableRawPointer] = [:]
    /// Handles kept for reuse; the multi handle keeps the connections.
    private var idle: [CurlEasy] = []
    private static let idleLimit = 8

    init() {
        CurlRuntime.ensureInitialised()
        guard let multi = curl_multi_init() else { fatalError("curl_multi_init returned NULL") }
        self.multi = multi
    }

    func send(_ command: Command) {
        let queued = inbox.withLock { inbox in
            guard !inbox.closed else { return false }
            inbox.commands.append(command)
            _ = curl_multi_wakeup(multi)
            return true
        }
        if !queued, case .start(let transfer) = command { transfer.completion(.failure(transfer.cancellation)) }
    }

    func close() {
        inbox.withLock { inbox in
            inbox.closed = true
            _ = curl_multi_wakeup(multi)
        }
    }

    func run() {
        while true {
            let (commands, closed) = inbox.withLock { inbox in
                defer { inbox.commands.removeAll(keepingCapacity: true) }
                return (inbox.commands, inbox.closed)
            }
            commands.forEach(handle)
            if closed { break }
            var stillRunning: Int32 = 0
            _ = curl_multi_perform(multi, &stillRunning)
            collectEnded()
            // libcurl's own timers (timeouts, retries of a connect) bound the wait.
            var timeout = -1
            _ = curl_multi_timeout(multi, &timeout)
            var ready: Int32 = 0
            _ = curl_multi_poll(multi, nil, 0, Int32(timeout < 0 ? 1000 : min(timeout, 1000)), &ready)
        }
        for handle in Array(running.keys) { end(handle) { .failure($0.transfer.cancellation) } }
        inbox.withLock { _ in _ = curl_multi_cleanup(multi) }
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
            _ = curl_multi_add_handle(multi, easy.pointer)
        case .resume(let transfer):
            guard let handle = easyOf[ObjectIdentifier(transfer)] else { return }
            running[handle]?.easy.unpause()
        case .cancel(let transfer):
            guard let handle = easyOf[ObjectIdentifier(transfer)] else { return }
            end(handle) { .failure($0.transfer.cancellation) }
        }
    }

    /// Ends the transfers libcurl has finished, with their outcome.
    private func collectEnded() {
        var queued: Int32 = 0
        while let message = curl_multi_info_read(multi, &queued) {
            guard message.pointee.msg == CURLMSG_DONE, let handle = message.pointee.easy_handle else { continue }
            let code = message.pointee.data.result
            end(handle) { running in running.easy.outcome(of: running.transfer, code: code) }
        }
    }

    private func end(_ handle: UnsafeMutableRawPointer, outcome: (Running) -> Result<Void, HTTPError>) {
        guard let ended = running.removeValue(forKey: handle) else { return }
        easyOf[ObjectIdentifier(ended.transfer)] = nil
        let result = outcome(ended)
        _ = curl_multi_remove_handle(multi, handle)
        curl_slist_free_all(ended.headerList)
        if idle.count < Self.idleLimit { idle.append(ended.easy) }
        ended.transfer.completion(result)
    }
}
