import Foundation
import Synchronization

/// The recent requests and their state, for the status API and page. Bounded in size.
final class JobBoard: Sendable {
    struct Entry: Codable, Sendable {
        var requestId: String
        var jobName: String?
        var k8sJob: String?
        var state: String
        var reason: String?
        var updatedAt: String
    }

    private let capacity: Int
    private let entries = Mutex<(byKey: [String: Entry], order: [String])>(([:], []))

    init(capacity: Int = 500) {
        self.capacity = capacity
    }

    func record(requestID: String, jobName: String?, k8sJob: String?, state: String, reason: String? = nil) {
        let entry = Entry(
            requestId: requestID, jobName: jobName, k8sJob: k8sJob, state: state, reason: reason, updatedAt: Date().formatted(.iso8601))
        entries.withLock { board in
            if board.byKey[requestID] == nil {
                board.order.append(requestID)
                if board.order.count > capacity { board.byKey[board.order.removeFirst()] = nil }
            }
            board.byKey[requestID] = entry
        }
    }

    /// Most recently created first.
    func recent() -> [Entry] {
        entries.withLock { board in board.order.reversed().compactMap { board.byKey[$0] } }
    }
}
