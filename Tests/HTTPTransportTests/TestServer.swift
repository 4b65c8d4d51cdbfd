import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import Testing

/// Runs `body` with the server `makeServer` builds, on a free port of 127.0.0.1 (`makeServer`
/// gets the `onServerRunning` callback that reports the port), then stops it. A graceful stop
/// waits for the responses still being written; an HTTP/2 server is cancelled instead
/// (`graceful: false`), since its graceful stop waits for the client to close the connection,
/// which libcurl keeps for reuse.
func withTestServer<Server: Service>(
    graceful: Bool = true,
    _ makeServer: (_ onServerRunning: @escaping @Sendable (any Channel) async -> Void) throws -> Server,
    _ body: (Int) async throws -> Void
) async throws {
    let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
    let server = try makeServer { channel in
        portSink.yield(channel.localAddress?.port ?? 0)
        portSink.finish()
    }
    let services = ServiceGroup(
        configuration: .init(services: [server], gracefulShutdownSignals: [], logger: Logger(label: "test-server")))
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await services.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        guard graceful else {
            defer { group.cancelAll() }
            return try await body(port)
        }
        do {
            try await body(port)
        } catch {
            await services.triggerGracefulShutdown()
            throw error
        }
        await services.triggerGracefulShutdown()
        try await group.waitForAll()
    }
}

/// A socket bound to a free port of 127.0.0.1, listening (connections wait until taken) or
/// not, and the port: a server that answers nothing, or as a test scripts it.
func localSocket(listening: Bool) throws -> (socket: Int32, port: Int) {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 && (!listening || listen(listener, 64) == 0)
        }
    }
    guard listener >= 0, bound else {
        close(listener)
        throw POSIXError(.EADDRNOTAVAIL)
    }
    return (listener, Int(UInt16(bigEndian: address.sin_port)))
}
