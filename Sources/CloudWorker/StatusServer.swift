import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix

/// The status server: probes, metrics and the job pages, on Hummingbird, as a service of the
/// worker's group. Connections are served concurrently on the event loops, so a slow client
/// never holds up `/healthz`; an idle connection is closed after `idleTimeout`. The host may be
/// an IPv4 or IPv6 address (`::` takes both).
enum StatusServer {
    struct Request: Sendable {
        var path: String
        var query: String
        /// The `Authorization` header, if the request had one.
        var authorization: String?

        /// A query parameter, decoded (`+` as a space).
        func parameter(_ name: String) -> String? {
            let components = URLComponents(string: "?" + query.replacingOccurrences(of: "+", with: "%20"))
            return components?.queryItems?.first { $0.name == name }?.value
        }
    }

    struct Response: Sendable {
        var status: Int
        var contentType: String
        var body: [UInt8]
        var headers: [String: String] = [:]

        static func text(_ status: Int, _ text: String) -> Response {
            Response(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
        }
    }

    static let idleTimeout = TimeAmount.seconds(10)
    /// One event loop serves every connection (NIO's default is one per core): the pages and
    /// probes are light, and the worker's thread count stays small.
    static let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    static func application(
        host: String, port: Int, logger: Logger, handler: @escaping @Sendable (Request) async -> Response
    ) -> some ApplicationProtocol {
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            guard request.method == .get || request.method == .head else {
                return hummingbirdResponse(.text(405, "only GET is served here\n"))
            }
            let served = await handler(
                Request(
                    path: request.uri.path, query: request.uri.query ?? "", authorization: request.headers[.authorization]))
            return hummingbirdResponse(served)
        }
        return Application(
            responder: responder,
            server: .http1(configuration: .init(idleTimeout: idleTimeout)),
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                logger.info("status server listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? host)"])
            },
            eventLoopGroupProvider: .shared(eventLoops),
            logger: logger)
    }

    private static func hummingbirdResponse(_ response: Response) -> Hummingbird.Response {
        var headers: HTTPFields = [.contentType: response.contentType, .cacheControl: "no-store"]
        for (name, value) in response.headers.sorted(by: { $0.key < $1.key }) {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        return Hummingbird.Response(
            status: .init(code: response.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: response.body)))
    }
}
