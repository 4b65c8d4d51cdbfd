import Foundation
import HTTPTransport
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// The client runs every transfer on one thread: a thousand open streams add no threads, and a
/// reader that falls behind pauses its transfer instead of buffering the body or holding a thread.
/// The server is a real HTTP server (Hummingbird) in this process, on a port of its own.
@Suite(.serialized) struct MultiLoopTests {
    @Test func aThousandConcurrentStreamsRunOnAConstantNumberOfThreads() async throws {
        let streams = 1000
        let open = Tally()
        let arrived = Tally()
        let router = Router()
        // Each response sends its first line, then holds until every stream has arrived (or a
        // minute has passed), so that all of them are open at once.
        router.get("slow") { _, _ -> Response in
            arrived.add(1)
            return Response(
                status: .ok,
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: "part 0\n"))
                    let deadline = ContinuousClock.now + .seconds(60)
                    while arrived.value < streams, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
                    try await writer.write(ByteBuffer(string: "part 1\n"))
                    try await Task.sleep(for: .milliseconds(200))
                    try await writer.write(ByteBuffer(string: "part 2\n"))
                    try await writer.finish(nil)
                })
        }
        router.get("hello") { _, _ in "hello" }
        try await withServer(router) { port in
            let client = HTTPClient()
            let url = "http://127.0.0.1:\(port)/slow"
            // The client's thread is up before counting.
            _ = try await client.send(HTTPTransport.HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/hello"))
            let before = Self.threads()
            let peak = Tally()
            let peakOpen = Tally()
            let bodies = try await withThrowingTaskGroup(of: String.self) { group in
                group.addTask {
                    // Samples while the streams run; ends with them.
                    while !Task.isCancelled {
                        peak.max(Self.threads())
                        peakOpen.max(open.value)
                        try? await Task.sleep(for: .milliseconds(50))
                    }
                    return "sampler"
                }
                for _ in 0..<streams {
                    group.addTask {
                        let stream = try await client.stream(HTTPTransport.HTTPRequest(method: "GET", url: url))
                        open.add(1)
                        defer { open.add(-1) }
                        var body: [UInt8] = []
                        while let chunk = try await stream.next() { body += chunk }
                        return String(decoding: body, as: UTF8.self)
                    }
                }
                var bodies: [String] = []
                while bodies.count < streams, let body = try await group.next() {
                    if body != "sampler" { bodies.append(body) }
                }
                group.cancelAll()
                return bodies
            }
            #expect(bodies.count == streams)
            #expect(bodies.allSatisfy { $0 == "part 0\npart 1\npart 2\n" })
            // They were open together, and the process did not grow a thread per stream (a few
            // more may come from other suites running in this process meanwhile; a thread per
            // stream would be a thousand).
            let (mostOpen, mostThreads) = (peakOpen.value, peak.value)
            #expect(mostOpen == streams)
            #expect(mostThreads <= before + 16, "threads: \(before) before, \(mostThreads) at the peak")
        }
    }

    @Test func aReaderThatFallsBehindPausesItsTransfer() async throws {
        let total = 1 << 30
        let written = Tally()
        let router = Router()
        router.get("big") { _, _ -> Response in
            Response(
                status: .ok,
                body: ResponseBody(contentLength: total) { writer in
                    let block = ByteBuffer(repeating: UInt8(ascii: "x"), count: 64 << 10)
                    for _ in 0..<(total / block.readableBytes) {
                        try await writer.write(block)
                        written.add(block.readableBytes)
                    }
                    try await writer.finish(nil)
                })
        }
        try await withServer(router) { port in
            let client = HTTPClient()
            let stream = try await client.stream(
                HTTPTransport.HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/big"), bufferLimit: 1 << 20)
            var received = try await stream.next()?.count ?? 0
            // While the reader waits, the server is soon blocked: what it wrote stops growing once
            // the buffer limit and the kernel's socket buffers are full, far from the whole body.
            try await Task.sleep(for: .seconds(1))
            let early = written.value
            try await Task.sleep(for: .milliseconds(500))
            let late = written.value
            #expect(late == early, "the server went on writing while the reader waited: \(early) then \(late) bytes")
            #expect(late < total / 4)
            // Reading again resumes the transfer.
            while received < late + (64 << 20), let chunk = try await stream.next() { received += chunk.count }
            #expect(received >= late + (64 << 20))
            #expect(written.value > late)
            stream.cancel()
        }
    }

    /// A transfer cancelled while its sink has paused it leaves the client as it was: the
    /// requests after it, on the handles it frees, complete.
    @Test(.timeLimit(.minutes(1))) func requestsAfterAPausedStreamIsCancelledComplete() async throws {
        let router = Router()
        router.get("big") { _, _ -> Response in
            Response(
                status: .ok,
                body: ResponseBody { writer in
                    let block = ByteBuffer(repeating: UInt8(ascii: "x"), count: 64 << 10)
                    for _ in 0..<1024 { try await writer.write(block) }
                    try await writer.finish(nil)
                })
        }
        router.get("small") { _, _ in "small" }
        try await withServer(router) { port in
            let client = HTTPClient()
            for _ in 0..<3 {
                let stream = try await client.stream(
                    HTTPTransport.HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/big"), bufferLimit: 16 << 10)
                #expect(try await stream.next() != nil)
                // The reader stops: the transfer pauses once the small buffer is full.
                try await Task.sleep(for: .milliseconds(300))
                stream.cancel()
                for _ in 0..<4 {
                    let response = try await client.send(
                        HTTPTransport.HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/small", totalTimeout: 10))
                    #expect(response.status == 200)
                    #expect(response.body == Array("small".utf8))
                }
            }
        }
    }

    @Test func aCancelledStreamEndsItsTransfer() async throws {
        let finished = Tally()
        let router = Router()
        router.get("endless") { _, _ -> Response in
            Response(
                status: .ok,
                body: ResponseBody { writer in
                    do {
                        while true {
                            try await writer.write(ByteBuffer(string: "tick\n"))
                            try await Task.sleep(for: .milliseconds(20))
                        }
                    } catch {
                        finished.add(1)
                        throw error
                    }
                })
        }
        try await withServer(router) { port in
            let client = HTTPClient()
            let stream = try await client.stream(HTTPTransport.HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/endless"))
            #expect(try await stream.next() != nil)
            stream.cancel()
            await #expect(throws: CancellationError.self) { _ = try await stream.next() }
            // The connection is closed, so the server's next write fails.
            let deadline = ContinuousClock.now + .seconds(5)
            while finished.value == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            let serverSawTheEnd = finished.value > 0
            #expect(serverSawTheEnd)
        }
    }

    /// S3 signs the path as sent, so libcurl must not resolve `.` and `..` segments first
    /// (`CURLOPT_PATH_AS_IS`): the server sees the path exactly as given.
    @Test func aPathWithDotSegmentsGoesOutAsGiven() async throws {
        let router = Router()
        router.get("**") { request, _ in request.uri.path }
        try await withServer(router) { port in
            let path = "/logs/./job/../pod/%2E%2E/run.log"
            let response = try await HTTPClient().send(HTTPTransport.HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)\(path)"))
            #expect(String(decoding: response.body, as: UTF8.self) == path)
        }
    }

    /// Requests whose server never answers end at their total timeouts, each at its own, while
    /// other requests keep starting: a timeout that falls due in the call that starts another
    /// request is reported too (only a libcurl timer ends such a request, and once it has
    /// fired nothing else would wake the loop for it).
    @Test(.timeLimit(.minutes(1))) func unansweredRequestsEndAtTheirTimeoutsWhileOthersStart() async throws {
        let (listener, silentPort) = try localSocket(listening: true)
        defer { close(listener) }
        let router = Router()
        router.get("hello") { _, _ in "hello" }
        try await withServer(router) { port in
            try await withTaskExecutorPreference(HTTPClient.transferExecutor) {
                try await withThrowingTaskGroup(of: Duration?.self) { group in
                    for index in 0..<40 {
                        group.addTask {
                            let timeout = 0.05 + Double(index % 7) * 0.013
                            let request = HTTPTransport.HTTPRequest(
                                method: "GET", url: "http://127.0.0.1:\(silentPort)/", totalTimeout: timeout)
                            let started = ContinuousClock.now
                            do {
                                _ = try await HTTPClient().send(request)
                            } catch let error as HTTPTransport.HTTPError where error.kind == .timedOut {
                                return ContinuousClock.now - started
                            }
                            return .seconds(999)
                        }
                    }
                    group.addTask {
                        let hello = HTTPTransport.HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/hello")
                        let until = ContinuousClock.now + .milliseconds(300)
                        while ContinuousClock.now < until {
                            let text = try await HTTPClient().send(hello).bodyText
                            #expect(text == "hello")
                        }
                        return nil
                    }
                    for try await took in group {
                        if let took { #expect(took < .seconds(5)) }
                    }
                }
            }
        }
    }

    /// A request that fails as it starts (nothing listens on the port) ends with its error,
    /// started from a task on the loop's thread and from one elsewhere alike.
    @Test(.timeLimit(.minutes(1))) func aRequestRefusedAsItStartsEndsWithItsError() async throws {
        let (bound, port) = try localSocket(listening: false)
        close(bound)  // free a moment ago, and nothing listens on it
        let request = HTTPTransport.HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/", connectTimeout: 5)
        @Sendable func failsWithItsError() async -> Bool {
            do {
                _ = try await HTTPClient().send(request)
                return false
            } catch {
                return (error as? HTTPTransport.HTTPError)?.kind == .connectionFailed
            }
        }
        for _ in 0..<20 {
            #expect(await failsWithItsError())
            #expect(await withTaskExecutorPreference(HTTPClient.transferExecutor) { await failsWithItsError() })
        }
    }

    /// Bodies up to 64 KiB go out with the head, larger ones through the read callback: either
    /// way the server gets the method, the bytes and the length, and no content type the
    /// request did not name.
    @Test(.timeLimit(.minutes(1))) func bodiesOfEverySizeArriveWhole() async throws {
        let router = Router()
        router.on("echo", method: .put, use: Self.describeBody)
        router.on("echo", method: .post, use: Self.describeBody)
        router.on("echo", method: .patch, use: Self.describeBody)
        router.on("echo", method: .delete, use: Self.describeBody)
        try await withServer(router) { port in
            let client = HTTPClient()
            let sizes = [0, 1, 2_000, 64 * 1024, 64 * 1024 + 1, 3_000_000]
            for (method, size) in zip(["PUT", "POST", "PATCH", "PUT", "POST", "PUT"], sizes) {
                let body = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
                let response = try await client.send(
                    HTTPTransport.HTTPRequest(method: method, url: "http://127.0.0.1:\(port)/echo", body: body))
                #expect(response.bodyText == "\(method) \(size) \(Self.checksum(body)) no-type", "\(size) bytes")
            }
            let typed = try await client.send(
                HTTPTransport.HTTPRequest(
                    method: "PATCH", url: "http://127.0.0.1:\(port)/echo", headers: [("Content-Type", "application/merge-patch+json")],
                    body: Array("{}".utf8)))
            #expect(typed.bodyText == "PATCH 2 \(Self.checksum(Array("{}".utf8))) application/merge-patch+json")
            let delete = try await client.send(HTTPTransport.HTTPRequest(method: "DELETE", url: "http://127.0.0.1:\(port)/echo"))
            #expect(delete.bodyText == "DELETE 0 0 no-type")
        }
    }

    @Sendable private static func describeBody(_ request: Request, _ context: BasicRequestContext) async throws -> String {
        let body = Array(buffer: try await request.body.collect(upTo: .max))
        return "\(request.method) \(body.count) \(checksum(body)) \(request.headers[.contentType] ?? "no-type")"
    }

    private static func checksum(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(UInt64(0)) { $0 &* 31 &+ UInt64($1) }
    }

    /// A task that prefers the transfer loop runs on its thread, and stays there: a response
    /// resumes it on the thread the response arrived on, and so does a wake-up from elsewhere
    /// (a timer's), which must wake the loop.
    @Test(.timeLimit(.minutes(1))) func aTaskThatPrefersTheTransferLoopRunsOnItsThread() async throws {
        let router = Router()
        router.get("hello") { _, _ in "hello" }
        try await withServer(router) { port in
            let client = HTTPClient()
            let request = HTTPTransport.HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/hello")
            let seen = try await withTaskExecutorPreference(HTTPClient.transferExecutor) {
                var threads = [Self.threadName()]
                let response = try await client.send(request)
                #expect(response.body == Array("hello".utf8))
                threads.append(Self.threadName())
                try await Task.sleep(for: .milliseconds(20))
                threads.append(Self.threadName())
                let inChild = try await withThrowingTaskGroup(of: String.self) { group in
                    group.addTask {
                        _ = try await client.send(request)
                        return Self.threadName()
                    }
                    return try await group.next()
                }
                threads.append(inChild ?? "none")
                return threads
            }
            #expect(seen == Array(repeating: "http-transfers", count: 4))
            #expect(Self.threadName() != "http-transfers")
            // Heavy work asked to run off the loop does, and the task comes back to the loop.
            let (off, back) = await withTaskExecutorPreference(HTTPClient.transferExecutor) {
                let off = await HTTPClient.offTransferThread { Self.threadName() }
                return (off, Self.threadName())
            }
            #expect(off != "http-transfers")
            #expect(back == "http-transfers")
        }
    }

    /// The OS name of the thread this runs on.
    static func threadName() -> String {
        let name = FileHandle(forReadingAtPath: "/proc/thread-self/comm")?.readDataToEndOfFile() ?? Data()
        return String(decoding: name, as: UTF8.self).trimmingCharacters(in: .newlines)
    }

    /// Threads of this process now.
    static func threads() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0
    }

    /// Runs `body` with a Hummingbird server for `router`, stopped gracefully afterwards.
    private func withServer(_ router: Router<BasicRequestContext>, _ body: (Int) async throws -> Void) async throws {
        try await withTestServer(
            { Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), onServerRunning: $0) },
            body)
    }
}

/// A count shared between tasks, and the largest value it was raised to.
private final class Tally: Sendable {
    private let current = Atomic(0)

    var value: Int { current.load(ordering: .relaxed) }

    func add(_ amount: Int) {
        current.add(amount, ordering: .relaxed)
    }

    func max(_ candidate: Int) {
        var seen = value
        while candidate > seen {
            let (exchanged, original) = current.compareExchange(expected: seen, desired: candidate, ordering: .relaxed)
            if exchanged { return }
            seen = original
        }
    }
}
