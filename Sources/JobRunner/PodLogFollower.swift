import HTTPTransport

/// Reads a pod's whole log while its container runs. The kubelet rotates logs and may end a
/// followed stream early (at a rotation, on a restart of its own): the follower then resumes
/// from the last timestamp seen, skipping the lines it already has, until the container has
/// terminated. It can also start from a position saved by an earlier follower (another
/// process), so that an archive carries on instead of starting again. Used by one task at a time.
public final class PodLogFollower {
    /// What `next()` yields.
    public enum Piece: Equatable, Sendable {
        /// Log lines, without their timestamps.
        case lines([UInt8])
        /// The stream ended before the container did; everything up to `position` has been
        /// yielded, so it is a safe point to save. The follower resumes on the next call.
        case cut
    }

    private let client: KubernetesClient
    public let pod: String
    private let hasTerminated: @Sendable () async -> Bool
    private var stream: HTTPStream?
    private var lines = LineSplitter()
    private var filter: ResumeFilter
    /// Whether the next stream must begin with lines already taken (it resumes mid-file); when
    /// it begins later, the kubelet no longer has what came in between.
    private var expectOverlap: Bool
    private var finished = false
    /// How many times the stream was opened again after ending early.
    public private(set) var resumes = 0
    /// Whether lines were found missing: the kubelet rotated them away before they were read.
    public private(set) var gapDetected = false

    /// - Parameters:
    ///   - position: where an earlier follower of this log stopped; nil reads it from the start.
    ///   - positionIsAtCut: whether `position` was saved at a `.cut` (the end of a rotated
    ///     file), so that the next lines may rightly begin after it.
    ///   - hasTerminated: whether the pod's container has ended, as the pod watch knows it;
    ///     asked when a stream ends, to tell the end of the log from a cut.
    public init(
        client: KubernetesClient, pod: String, from position: LogPosition? = nil, positionIsAtCut: Bool = false,
        hasTerminated: @escaping @Sendable () async -> Bool
    ) {
        self.client = client
        self.pod = pod
        self.hasTerminated = hasTerminated
        self.filter = ResumeFilter(position: position)
        self.expectOverlap = position != nil && !positionIsAtCut
        if position != nil { filter.startResume() }
    }

    deinit {
        stream?.cancel()
    }

    /// Where the log stands: after the last line yielded.
    public var position: LogPosition? { filter.position }

    /// The next piece of the log, or nil at its end. Throws when the log cannot be opened
    /// within the client's retry patience.
    public func next() async throws -> Piece? {
        while !finished {
            if stream == nil {
                stream = try await client.streamLog(pod: pod, follow: true, sinceTime: filter.resumeFrom?.wholeSeconds, timestamps: true)
            }
            let chunk: [UInt8]?
            var cleanEnd = true
            do {
                chunk = try await stream!.next()
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                chunk = nil  // a cut connection is a stream that ended early, mid-file
                cleanEnd = false
            }
            if let chunk {
                let output = accept(lines.append(chunk))
                if !output.isEmpty { return .lines(output) }
                continue
            }
            stream = nil
            if try await terminatesSoon() {
                finished = true
                let rest = accept(lines.remainder())
                return rest.isEmpty ? nil : .lines(rest)
            }
            // The container still runs: resume where this stream stopped. A stream that ended
            // cleanly ended at a rotation, so the next file rightly starts after its last line.
            resumes += 1
            expectOverlap = !cleanEnd
            lines = LineSplitter()
            filter.startResume()
            return .cut
        }
        return nil
    }

    private func accept(_ newLines: [[UInt8]]) -> [UInt8] {
        var output: [UInt8] = []
        for line in newLines {
            if expectOverlap {
                expectOverlap = false
                if filter.startsAfterPosition(line) { gapDetected = true }
            }
            output += filter.accept(line)
        }
        return output
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

/// Where a followed log stands: the timestamp of the last line taken and how many lines
/// carried that very timestamp. Saved with an archive so that another process can carry on.
public struct LogPosition: Codable, Sendable, Equatable {
    public var timestamp: String
    public var linesAtTimestamp: Int

    public init(timestamp: String, linesAtTimestamp: Int) {
        self.timestamp = timestamp
        self.linesAtTimestamp = linesAtTimestamp
    }
}

/// Strips the kubelet's timestamps and drops the lines a resumed stream repeats: everything
/// before the last timestamp seen, and as many lines at that very timestamp as were taken.
struct ResumeFilter {
    private var last: LogTimestamp?
    private var lastText = ""
    private var linesAtLast = 0
    private var toSkipAtLast = 0

    init(position: LogPosition? = nil) {
        if let position, let timestamp = LogTimestamp(Substring(position.timestamp)) {
            last = timestamp
            lastText = position.timestamp
            linesAtLast = position.linesAtTimestamp
        }
    }

    /// Where a resumed stream must start.
    var resumeFrom: LogTimestamp? { last }

    var position: LogPosition? {
        last.map { _ in LogPosition(timestamp: lastText, linesAtTimestamp: linesAtLast) }
    }

    mutating func startResume() {
        toSkipAtLast = linesAtLast
    }

    /// Whether `line` is later than the last line taken (the first line of a resumed stream
    /// should repeat it).
    func startsAfterPosition(_ line: [UInt8]) -> Bool {
        guard let last, let (timestamp, _) = Self.split(line) else { return false }
        return timestamp > last
    }

    /// The line's content with a newline, or nothing if it is a repeat.
    mutating func accept(_ line: [UInt8]) -> [UInt8] {
        guard let (timestamp, space) = Self.split(line) else { return line + [10] }  // no timestamp: keep the line
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
        lastText = String(decoding: line[..<space], as: UTF8.self)
        linesAtLast = 1
        toSkipAtLast = 0
        return Array(line[(space + 1)...]) + [10]
    }

    private static func split(_ line: [UInt8]) -> (LogTimestamp, Int)? {
        guard let space = line.firstIndex(of: UInt8(ascii: " ")),
            let timestamp = LogTimestamp(Substring(decoding: line[..<space], as: UTF8.self))
        else { return nil }
        return (timestamp, space)
    }
}
