import Backoff
import Foundation
import HTTPTransport
import Logging
import Synchronization

/// What a watch reports about one object.
public enum WatchEvent<Object: KubernetesObject>: Sendable {
    /// Every object there is, from a (re)list: any other the consumer knows is gone.
    case listed([Object])
    /// The object as it now is (ADDED or MODIFIED).
    case current(Object)
    case deleted(Object)
}

/// One shared list-then-watch of one kind of object (the worker's Jobs, their Pods), feeding
/// every in-flight request: resumed from the last resourceVersion, bookmarks requested,
/// re-listed when the server answers 410, reconnected with backoff. No per-job polling.
public final class ResourceWatcher<Object: KubernetesObject>: Sendable {
    private let client: KubernetesClient
    private let labelSelector: String
    private let logger: Logger
    private let retryPolicy = RetryPolicy.forever(baseDelay: 0.2, maxDelay: 10)
    private let connected = Mutex(false)

    /// Whether the last list or watch request reached the API server.
    public var isConnected: Bool { connected.withLock { $0 } }

    public init(client: KubernetesClient, labelSelector: String, logger: Logger) {
        self.client = client
        self.labelSelector = labelSelector
        self.logger = logger
    }

    /// Runs until the task is cancelled, calling `onEvent` for every change in order: a
    /// `.listed` snapshot first (and again after every re-list), then each change.
    public func run(onEvent: @Sendable (WatchEvent<Object>) async -> Void) async {
        var resourceVersion: String?
        var retry = retryPolicy.start()
        while !Task.isCancelled {
            do {
                if resourceVersion == nil {
                    let list = try await client.list(Object.self, labelSelector: labelSelector)
                    await onEvent(.listed(list.items))
                    resourceVersion = list.metadata.resourceVersion ?? "0"
                }
                let stream = try await client.watch(
                    Object.self, labelSelector: labelSelector, resourceVersion: resourceVersion!, timeoutSeconds: 300)
                connected.withLock { $0 = true }
                retry = retryPolicy.start()
                resourceVersion = try await consume(stream, from: resourceVersion!, onEvent: onEvent)
            } catch let error as KubernetesError where error.status == 410 {
                logger.info("watch expired, listing again", metadata: ["resource": "\(Object.resource)", "reason": "\(error.reason)"])
                resourceVersion = nil
            } catch is CancellationError {
                return
            } catch {
                connected.withLock { $0 = false }
                logger.warning(
                    "watch failed, reconnecting",
                    metadata: ["resource": "\(Object.resource)", "error": "\(error)", "attempt": "\(retry.failures + 1)"])
                try? await retry.backoff(after: error)
            }
        }
    }

    /// Reads one watch stream to its end; returns the resourceVersion to resume from, or nil
    /// when the history has expired and a new list is needed.
    private func consume(_ stream: HTTPStream, from start: String, onEvent: @Sendable (WatchEvent<Object>) async -> Void) async throws
        -> String?
    {
        var resourceVersion = start
        var lines = LineSplitter()
        while let chunk = try await stream.next() {
            for line in lines.append(chunk) {
                switch try WatchLine<Object>(line) {
                case .error(let code, let reason, let message):
                    if code == 410 {
                        logger.info(
                            "watch history expired, listing again",
                            metadata: ["resource": "\(Object.resource)", "message": "\(message ?? "")"])
                        stream.cancel()
                        return nil
                    }
                    throw KubernetesError.watch(Object.self, code: code, reason: reason, message: message)
                case .bookmark(let version):
                    resourceVersion = version ?? resourceVersion
                case .change(let object, let deleted):
                    resourceVersion = object.metadata.resourceVersion ?? resourceVersion
                    await onEvent(deleted ? .deleted(object) : .current(object))
                }
            }
        }
        return resourceVersion
    }
}

/// Splits a byte stream into newline-terminated lines.
struct LineSplitter {
    private var pending: [UInt8] = []

    /// The lines `chunk` ends, without their newlines (empty ones left out). Each line's bytes
    /// are copied once: most chunks hold whole lines, and `pending` stays empty.
    mutating func append(_ chunk: [UInt8]) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var start = 0
        while let newline = Self.newline(in: chunk, from: start) {
            var line = pending
            pending = []
            line += chunk[start..<newline]
            if !line.isEmpty { lines.append(line) }
            start = newline + 1
        }
        pending += chunk[start...]
        return lines
    }

    /// Where the next newline at or after `start` is: memchr, as a watch event is kilobytes long.
    private static func newline(in chunk: [UInt8], from start: Int) -> Int? {
        chunk.withUnsafeBytes { bytes in
            guard start < bytes.count, let found = memchr(bytes.baseAddress! + start, Int32(UInt8(ascii: "\n")), bytes.count - start)
            else { return nil }
            return UnsafeRawPointer(found) - bytes.baseAddress!
        }
    }

    /// What is left after the last newline (a final line without one).
    mutating func remainder() -> [[UInt8]] {
        defer { pending = [] }
        return pending.isEmpty ? [] : [pending]
    }
}
