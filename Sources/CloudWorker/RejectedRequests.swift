import Foundation
import Synchronization

/// The requests this replica rejected, for the status API and page: they never had a Job, so
/// the shared Job cache cannot show them, and only the replica that rejected one knows of it.
/// The most recent `capacity`, newest first.
final class RejectedRequests: Sendable {
    struct Entry: Codable, Sendable, Equatable {
        var requestId: String
        var jobName: String?
        /// Always `rejected`: the same field as a Job's listing.
        var state: String = Reply.Status.rejected.rawValue
        var reason: String
        var updatedAt: String
    }

    private let capacity: Int
    private let entries = Mutex<[Entry]>([])

    init(capacity: Int = 500) {
        self.capacity = capacity
    }

    func record(requestID: String, jobName: String?, reason: String, at date: Date = Date()) {
        let entry = Entry(requestId: requestID, jobName: jobName, reason: reason, updatedAt: date.formatted(.iso8601))
        entries.withLock { entries in
            entries.removeAll { $0.requestId == requestID }
            entries.append(entry)
            if entries.count > capacity { entries.removeFirst(entries.count - capacity) }
        }
    }

    /// Newest first, those whose request id or job name contains `name`, if given.
    func recent(name: String? = nil) -> [Entry] {
        entries.withLock { entries in
            entries.reversed().filter { entry in
                guard let name, !name.isEmpty else { return true }
                return [entry.requestId, entry.jobName ?? ""].contains { $0.localizedCaseInsensitiveContains(name) }
            }
        }
    }
}
