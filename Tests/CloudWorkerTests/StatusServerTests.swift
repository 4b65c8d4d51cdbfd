import Testing

@testable import CloudWorker

/// The `Date` header the status server writes with each response (RFC 9110 §5.6.7), beside
/// Python's `email.utils.formatdate(t, usegmt=True)` for the same instants.
@Suite struct StatusServerTests {
    @Test(arguments: [
        (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
        (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
        (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
        (1_796_605_323, "Mon, 07 Dec 2026 01:02:03 GMT"),
    ])
    func theDateHeaderIsInTheHTTPForm(seconds: Int, expected: String) {
        #expect(StatusServer.httpDate(seconds) == expected)
    }
}
