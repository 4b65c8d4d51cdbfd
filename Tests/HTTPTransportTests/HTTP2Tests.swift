import Foundation
import HTTPTransport
import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// Where the server offers HTTP/2 over TLS (as the Kubernetes API server does), concurrent
/// streams to it share one connection: libcurl negotiates h2 by ALPN, and a transfer started
/// while the first connection is being set up waits to learn whether it multiplexes instead of
/// opening one of its own (`CURLOPT_PIPEWAIT`).
@Suite struct HTTP2Tests {
    @Test(.timeLimit(.minutes(1))) func concurrentStreamsToAnHTTP2ServerShareOneConnection() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("h2-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try selfSignedCertificate(in: directory)

        let streams = 50
        let peers = Peers()
        let router = Router(context: PeerContext.self)
        // Each response holds until every request has arrived (or 20 s have passed), so that
        // all of them are open at once.
        router.get("held") { _, context -> Response in
            peers.arrived(from: context.peerPort)
            return Response(
                status: .ok,
                body: ResponseBody { writer in
                    let deadline = ContinuousClock.now + .seconds(20)
                    while peers.count < streams, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
                    try await writer.write(ByteBuffer(string: "done\n"))
                    try await writer.finish(nil)
                })
        }
        let tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile("\(directory)/server.crt").map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: "\(directory)/server.key", format: .pem)))
        try await withTestServer(graceful: false) {
            Application(
                router: router, server: try .http2Upgrade(tlsConfiguration: tls),
                configuration: .init(address: .hostname("127.0.0.1", port: 0)), onServerRunning: $0)
        } _: { port in
            let client = HTTPClient(tls: HTTPTransport.TLSConfiguration(caFile: "\(directory)/server.crt"))
            let url = "https://127.0.0.1:\(port)/held"
            let bodies = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<streams {
                    group.addTask {
                        let stream = try await client.stream(HTTPTransport.HTTPRequest(method: "GET", url: url))
                        var body: [UInt8] = []
                        while let chunk = try await stream.next() { body += chunk }
                        return String(decoding: body, as: UTF8.self)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(bodies == Array(repeating: "done\n", count: streams))
        }
        // Fifty requests open at once over one connection: only HTTP/2 multiplexes them.
        #expect(peers.ports.count == 1, "client ports seen: \(peers.ports.sorted())")
    }

    /// A certificate for 127.0.0.1 that is its own CA, made with the `openssl` command.
    private func selfSignedCertificate(in directory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", "\(directory)/server.key", "-out",
            "\(directory)/server.crt",
        ]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "openssl could not make the test certificate")
    }
}

/// The test server's request context: the client port a request came from (an HTTP/2 stream
/// has its connection's).
private struct PeerContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let peerPort: Int?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peerPort = source.channel.remoteAddress?.port
    }
}

/// How many requests arrived, and from which client ports.
private final class Peers: Sendable {
    private let state = Mutex<(count: Int, ports: Set<Int>)>((0, []))

    func arrived(from port: Int?) {
        state.withLock {
            $0.count += 1
            if let port { $0.ports.insert(port) }
        }
    }

    var count: Int { state.withLock { $0.count } }
    var ports: Set<Int> { state.withLock { $0.ports } }
}
