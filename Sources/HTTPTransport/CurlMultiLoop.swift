internal import CCurl
import Foundation
import Synchronization

/// The one thread that runs every transfer of the process through one libcurl multi handle: a
/// thousand open watches and log streams cost one thread, and share its connections (a
/// transfer's TLS settings are its own, and libcurl reuses a connection only for the same ones).
/// Other threads only queue commands for it and wake it (`curl_multi_wakeup`, the one multi call
/// that is thread-safe); libcurl is called on the loop's thread alone.
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
    private let inbox = Mutex<[Command]>([])

    // MARK: - Loop thread only
    private var running: [UnsafeMutableRawPointer: Running] = [:]
    private var easyOf: [ObjectIdentifier: UnsafeMutableRawPointer] = [:]
    /// Handles kept for reuse; the multi handle keeps the connections.
    private var idle: [CurlEasy] = []
    private static let idleLimit = 8

    private init() {
        CurlRuntime.ensureInitialised()
        guard let multi = curl_multi_init() else { fatalError("curl_multi_init returned NULL") }
        self.multi = multi
        let thread = Thread { [self] in run() }
        thread.name = "http-transfers"
        thread.start()
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
        inbox.withLock { $0.append(command) }
        _ = curl_multi_wakeup(multi)
    }

    private func run() {
        while true {
            let commands = inbox.withLock { commands in
                defer { commands.removeAll(keepingCapacity: true) }
                return commands
            }
            commands.forEach(handle)
            var stillRunning: Int32 = 0
            _ = curl_multi_perform(multi, &stillRunning)
            collectEnded()
            // libcurl's own timers (timeouts, retries of a connect) bound the wait.
            var timeout = -1
            _ = curl_multi_timeout(multi, &timeout)
            var ready: Int32 = 0
            _ = curl_multi_poll(multi, nil, 0, Int32(timeout < 0 ? 1000 : min(timeout, 1000)), &ready)
        }
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
