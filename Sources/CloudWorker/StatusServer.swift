import Foundation
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The status server: probes, metrics and the job pages, on HummingbirdCore, as a service of the
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

    /// The server, as a service of the worker's group: HummingbirdCore's HTTP/1 server with a
    /// responder of its own. Hummingbird's `Application` would also run a task every second that
    /// formats the `Date` header ahead of time, waking the idle worker and keeping Foundation's
    /// calendar code resident for it; here the header is formatted as each response is written.
    static func service(
        host: String, port: Int, logger: Logger, handler: @escaping @Sendable (Request) async -> Response
    ) throws -> any Service {
        try HTTPServerBuilder.http1(configuration: .init(idleTimeout: idleTimeout)).buildServer(
            configuration: .init(address: .hostname(host, port: port)), eventLoopGroup: eventLoops, logger: logger,
            responder: { request, writer, _ in
                let served =
                    request.method == .get || request.method == .head
                    ? await handler(
                        Request(path: request.uri.path, query: request.uri.query ?? "", authorization: request.headers[.authorization]))
                    : .text(405, "only GET is served here\n")
                let response = httpResponse(served, date: httpDate(time(nil)))
                do {
                    try await writer.write(response: response.head, body: response.body)
                } catch is HTTPParserError {
                    // The server answers a parse error with a 400 of its own; one that comes
                    // while this response is written must close the connection instead.
                    throw ResponseNotWritten()
                }
            },
            onServerRunning: { channel in
                logger.info("status server listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? host)"])
            })
    }

    private struct ResponseNotWritten: Error {}

    private static func httpResponse(_ response: Response, date: String) -> HummingbirdCore.Response {
        var headers: HTTPFields = [.contentType: response.contentType, .cacheControl: "no-store", .date: date]
        for (name, value) in response.headers.sorted(by: { $0.key < $1.key }) {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        return HummingbirdCore.Response(
            status: .init(code: response.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: response.body)))
    }

    /// The `Date` header's form (RFC 9110 §5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func httpDate(_ seconds: time_t) -> String {
        var seconds = seconds
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(days[Int(parts.tm_wday)]), \(parts.tm_mday.twoDigits) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(parts.tm_hour.twoDigits):\(parts.tm_min.twoDigits):\(parts.tm_sec.twoDigits) GMT"
    }
}
