import HTTPTransport

/// Reads a pod's whole log while its container runs. The kubelet rotates logs and may end a
/// followed stream early (at a rotation, on a restart of its own): the follower then resumes
/// from the last timestamp seen, skipping the lines it already has, until the container has
/// terminated. Used by one task at a time.
public final class PodLogFollower {
    private let client: KubernetesClient
    public let pod: String
    private let hasTerminated: @Sendable () async -> Bool
    private var stream: HTTPStream?
    private var lines = LineSplitter()
    private var filter = ResumeFilter()
    private var finished = false
    /// How many times the stream was opened again after ending early.
    public private(set) var resumes = 0
    private var openFailures = 0
    private static let openRetry = RetryPolicy(maxAttempts: 10, baseDelay: 0.2, maxDelay: 5)

    /// - Parameter hasTerminated: whether the pod's container has ended, as the pod watch
    ///   knows it; asked when a stream ends, to tell the end of the log from a cut.
    public init(client: KubernetesClient, pod: String, hasTerminated: @escaping @Sendable () async -> Bool) {
        self.client = client
        self.pod = pod
        self.hasTerminated = hasTerminated
    }

    deinit {
        stream?.cancel()
    }

    /// The next piece of the log (lines without their timestamps), or nil at its end.
    public func next() async throws -> [UInt8]? {
        while !finished {
            if stream == nil {
                do {
                    stream = try await client.streamLog(
                        pod: pod, follow: true, sinceTime: filter.resumeFrom?.wholeSeconds, timestamps: true)
                    openFailures = 0
                } catch let error as KubernetesError where error.isRetryable && openFailures < Self.openRetry.maxAttempts {
                    // The API server is busy or away for a moment: the log waits on the node.
                    openFailures += 1
                    try await Self.openRetry.wait(afterAttempt: openFailures)
                    continue
                }
            }
            let chunk: [UInt8]?
            do {
                chunk = try await stream!.next()
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                chunk = nil  // a cut connection is a stream that ended early
            }
            if let chunk {
                let output = lines.append(chunk).flatMap { filter.accept($0) }
                if !output.isEmpty { return output }
                continue
            }
            stream = nil
            if try await terminatesSoon() {
                finished = true
                let rest = lines.remainder().flatMap { filter.accept($0) }
                return rest.isEmpty ? nil : rest
            }
            // The container still runs: resume where this stream stopped.
            resumes += 1
            filter.startResume()
        }
        return nil
    }

    /// Whether the container has ended, allowing its status a tenth of a second to catch up:
    /// a log stream ends as the container exits, a moment before the kubelet reports it, and
    /// opening the log again then would be a wasted request. Short, because a stream cut by a
    /// rotation waits as long while the container writes on.
    private func terminatesSoon() async throws -> Bool {
        for _ in 0..<2 {
            if await hasTerminated() { return true }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        return await hasTerminated()
    }

    public func cancel() {
        stream?.cancel()
    }
}

/// Strips the kubelet's timestamps and drops the lines a resumed stream repeats: everything
/// before the last timestamp seen, and as many lines at that very timestamp as were taken.
struct ResumeFilter {
    private var last: LogTimestamp?
    private var linesAtLast = 0
    private var toSkipAtLast = 0

    /// Where a resumed stream must start.
    var resumeFrom: LogTimestamp? { last }

    mutating func startResume() {
        toSkipAtLast = linesAtLast
    }

    /// The line's content with a newline, or nothing if it is a repeat.
    mutating func accept(_ line: [UInt8]) -> [UInt8] {
        guard let space = line.firstIndex(of: UInt8(ascii: " ")),
            let timestamp = LogTimestamp(Substring(decoding: line[..<space], as: UTF8.self))
        else { return line + [10] }  // no timestamp: keep the line as it is
        if let last {
            if timestamp < last { return [] }
            if timestamp == last {
                if toSkipAtLast > 0 {
                    toSkipAtLast -= 1
                    return []
                }
                linesAtLast += 1
                return Array(line[(space + 1)...]) + [10]
            }
        }
        last = timestamp
        linesAtLast = 1
        toSkipAtLast = 0
        return Array(line[(space + 1)...]) + [10]
    }
}
