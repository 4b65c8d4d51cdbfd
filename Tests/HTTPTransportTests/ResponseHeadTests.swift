import Foundation
import HTTPTransport
import Testing

/// How a response head is read: the final status line's code, and each field's name and value
/// trimmed of the spaces around them. The server is a plain socket that writes a head as given,
/// interim `100 Continue` and odd spacing included, which an HTTP server library would not.
@Suite struct ResponseHeadTests {
    @Test(.timeLimit(.minutes(1))) func theFinalStatusAndTrimmedFieldsAreWhatTheResponseCarries() async throws {
        let head =
            "HTTP/1.1 100 Continue\r\nX-Interim: dropped\r\n\r\n"
            + "HTTP/1.1 201 Created\r\nX-Padded:   spaced  value \t\r\nX-Empty:\r\nContent-Type: text/plain\r\n"
            + "Content-Length: 2\r\n\r\nok"
        let server = try OneResponseServer(response: Array(head.utf8))
        let response = try await HTTPClient().send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/"))
        #expect(response.status == 201)
        #expect(response.bodyText == "ok")
        #expect(response.headers["x-padded"] == "spaced  value")
        #expect(response.headers["X-Empty"] == "")
        #expect(response.headers["content-type"] == "text/plain")
        #expect(response.headers["X-Interim"] == nil)
        #expect(response.headers.fields.map(\.name) == ["X-Padded", "X-Empty", "Content-Type", "Content-Length"])
    }
}

/// Accepts one connection on a free port of 127.0.0.1, reads the request head, writes
/// `response` and closes.
private final class OneResponseServer: Sendable {
    let port: Int

    init(response: [UInt8]) throws {
        let (listener, port) = try localSocket(listening: true)
        self.port = port
        Thread {
            defer { close(listener) }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            defer { close(connection) }
            var request: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !request.ends(with: Array("\r\n\r\n".utf8)) {
                let count = read(connection, &buffer, buffer.count)
                guard count > 0 else { return }
                request += buffer[..<count]
            }
            _ = response.withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
        }.start()
    }
}

extension Array where Element: Equatable {
    fileprivate func ends(with suffix: [Element]) -> Bool {
        count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }
}
