import Foundation
import Glibc

/// A small HTTP/1.1 server for probes, metrics and the job status pages: GET only, one
/// request per connection, on a thread of its own so that it answers even when the
/// cooperative pool is busy.
final class StatusServer: Sendable {
    struct Request: Sendable {
        var path: String
        var query: String
        /// The `Authorization` header, if the request had one.
        var authorization: String?
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

    typealias Handler = @Sendable (Request) -> Response

    private let socket: Int32
    let port: Int

    /// Binds at once so that a port in use is reported at start.
    init(host: String, port: Int, handler: @escaping Handler) throws {
        let descriptor = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw StatusServerError("socket() failed: errno \(errno)") }
        var yes: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            close(descriptor)
            throw StatusServerError("'\(host)' is not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 64) == 0 else {
            close(descriptor)
            throw StatusServerError("cannot listen on \(host):\(port): \(String(cString: strerror(errno)))")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.socket = descriptor
        self.port = Int(UInt16(bigEndian: actual.sin_port))
        let thread = Thread { Self.serve(descriptor, handler) }
        thread.name = "http-status"
        thread.start()
    }

    /// Stops accepting; the serving thread ends at its next accept.
    func stop() {
        shutdown(socket, Int32(SHUT_RDWR))
        close(socket)
    }

    private static func serve(_ listener: Int32, _ handler: Handler) {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                return
            }
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            respond(on: connection, handler)
            close(connection)
        }
    }

    private static func respond(on connection: Int32, _ handler: Handler) {
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while request.count < 16_384 {
            let count = read(connection, &buffer, buffer.count)
            guard count > 0 else { break }
            request += buffer[0..<count]
            if request.count >= 4, request.suffix(4) == [13, 10, 13, 10] { break }
        }
        let lines = String(decoding: request, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        let line = (lines.first ?? "").split(separator: " ")
        let authorization = lines.dropFirst().first { $0.lowercased().hasPrefix("authorization:") }.map {
            String($0.dropFirst("authorization:".count).trimmingCharacters(in: .whitespaces))
        }
        let response: Response
        if line.count < 2 {
            response = .text(400, "bad request\n")
        } else if line[0] != "GET" && line[0] != "HEAD" {
            response = .text(405, "only GET is served here\n")
        } else {
            let target = line[1]
            let path = String(target.prefix { $0 != "?" })
            let query = target.contains("?") ? String(target[target.index(after: target.firstIndex(of: "?")!)...]) : ""
            response = handler(Request(path: path, query: query, authorization: authorization))
        }
        let reason =
            [
                200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
                503: "Service Unavailable",
            ][response.status] ?? "Status"
        let extra = response.headers.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)\r\n" }.joined()
        var output = Array(
            ("HTTP/1.1 \(response.status) \(reason)\r\nContent-Type: \(response.contentType)\r\n"
                + "Content-Length: \(response.body.count)\r\nConnection: close\r\nCache-Control: no-store\r\n\(extra)\r\n").utf8)
        if line.first != "HEAD" { output += response.body }
        var written = 0
        while written < output.count {
            let count = output[written...].withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
            guard count > 0 else { return }
            written += count
        }
    }
}

struct StatusServerError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
