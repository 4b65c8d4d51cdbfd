import Foundation
import Testing

@testable import JobRunner

/// The bearer token: a fixed one as given; one from a file read once a minute (service-account
/// tokens rotate), the last one read kept while the file cannot be read.
@Suite struct TokenSourceTests {
    @Test func aFixedTokenIsUsedAsGiven() {
        #expect(TokenSource(token: "fixed", file: "/nonexistent").current() == "fixed")
        #expect(TokenSource(token: nil, file: nil).current() == nil)
    }

    @Test func aFileTokenIsTrimmedAndKeptWithinTheMinute() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("token-\(UUID().uuidString)").path
        try "first\n".write(toFile: file, atomically: true, encoding: .utf8)
        let source = TokenSource(token: nil, file: file)
        #expect(source.current() == "first")
        // Rotated on disk: read again only after a minute, not on every request.
        try "second\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(source.current() == "first")
        try FileManager.default.removeItem(atPath: file)
        #expect(source.current() == "first")
        #expect(TokenSource(token: nil, file: file).current() == nil)
    }
}
