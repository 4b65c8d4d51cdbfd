import Foundation
import HTTPTransport
import Logging
import Synchronization

/// What the watch reports about one Job.
public enum JobWatchEvent: Sendable {
    /// The Job as it now is (from the initial list, ADDED or MODIFIED).
    case current(Job)
    case deleted(Job)
}

/// One shared list-then-watch of the worker's Jobs, feeding every in-flight request: resumed
/// from the last resourceVersion, bookmarks requested, re-listed when the server answers 410,
/// reconnected with backoff. No per-job polling.
public final class JobWatcher: Sendable {
    private let client: KubernetesClient
    private let labelSelector: String
    private let logger: Logger
    private let retry = RetryPolicy(maxAttempts: .max, baseDelay: 0.2, maxDelay: 10)
    private let connected = Mutex(false)

    /// Whether the last list or watch request reached the API server.
    public var isConnected: Bool { connected.withLock { $0 } }

    public init(client: KubernetesClient, labelSelector: String, logger: Logger) {
        self.client = client
        self.labelSelector = labelSelector
        self.logger = logger
    }

    /// Runs until the task is cancelled, calling `onEvent` for every change in order.
    /// `onListed` is called after each complete list, with the names it held.
    public func run(
        onEvent: @Sendable (JobWatchEvent) async -> Void,
        onListed: @Sendable (Set<String>) async -> Void = { _ in }
    ) async {
        var resourceVersion: String?
        var failures = 0
        while !Task.isCancelled {
            do {
                if resourceVersion == nil {
                    let list = try await client.listJobs(labelSelector: labelSelector)
                    for job in list.items { await onEvent(.current(job)) }
                    await onListed(Set(list.items.map(\.name)))
                    resourceVersion = list.metadata.resourceVersion ?? "0"
                }
                let stream = try await client.watchJobs(labelSelector: labelSelector, resourceVersion: resourceVersion!, timeoutSeconds: 300)
                connected.withLock { $0 = true }
                failures = 0
                resourceVersion = try await consume(stream, from: resourceVersion!, onEvent: onEvent)
            } catch let error as KubernetesError where error.status == 410 {
                logger.info("Job watch expired, listing again", metadata: ["reason": "\(error.reason)"])
                resourceVersion = nil
            } catch is CancellationError {
                return
            } catch {
                connected.withLock { $0 = false }
                failures += 1
                logger.warning("Job watch failed, reconnecting", metadata: ["error": "\(error)", "attempt": "\(failures)"])
                try? await retry.wait(afterAttempt: failures)
            }
        }
    }

    /// Reads one watch stream to its end; returns the resourceVersion to resume from, or nil
    /// when the history has expired and a new list is needed.
    private func consume(_ stream: HTTPStream, from start: String, onEvent: @Sendable (JobWatchEvent) async -> Void) async throws -> String? {
        var resourceVersion = start
        var lines = LineSplitter()
        let decoder = JSONDecoder()
        while let chunk = try await stream.next() {
            for line in lines.append(chunk) {
                let header = try decoder.decode(EventType.self, from: Data(line))
                switch header.type {
                case "ERROR":
                    let status = try decoder.decode(Event<StatusObject>.self, from: Data(line)).object
                    if status.code == 410 {
                        logger.info("Job watch history expired, listing again", metadata: ["message": "\(status.message ?? "")"])
                        stream.cancel()
                        return nil
                    }
                    throw KubernetesError(status: status.code ?? 500, reason: status.reason ?? "WatchError", message: status.message ?? "", operation: "watch jobs")
                case "BOOKMARK":
                    let job = try decoder.decode(Event<Job>.self, from: Data(line)).object
                    resourceVersion = job.metadata.resourceVersion ?? resourceVersion
                default:
                    let job = try decoder.decode(Event<Job>.self, from: Data(line)).object
                    resourceVersion = job.metadata.resourceVersion ?? resourceVersion
                    await onEvent(header.type == "DELETED" ? .deleted(job) : .current(job))
                }
            }
        }
        return resourceVersion
    }

    private struct EventType: Decodable {
        var type: String
    }

    private struct Event<Object: Decodable>: Decodable {
        var object: Object
    }
}

/// Splits a byte stream into newline-terminated lines.
struct LineSplitter {
    private var pending: [UInt8] = []

    mutating func append(_ chunk: [UInt8]) -> [[UInt8]] {
        pending += chunk
        var lines: [[UInt8]] = []
        var start = 0
        for index in pending.indices where pending[index] == UInt8(ascii: "\n") {
            if index > start { lines.append(Array(pending[start..<index])) }
            start = index + 1
        }
        pending.removeFirst(start)
        return lines
    }
}
