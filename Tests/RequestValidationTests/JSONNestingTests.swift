import Testing

@testable import RequestValidation

@Suite struct JSONNestingTests {
    static func exceeds(_ text: String, _ limit: Int) -> Bool { JSONNesting.exceeds(limit, in: Array(text.utf8)) }

    @Test func countsArraysAndObjects() {
        #expect(!Self.exceeds(#"{"a":[1,{"b":[]}]}"#, 4))
        #expect(Self.exceeds(#"{"a":[1,{"b":[]}]}"#, 3))
        #expect(!Self.exceeds(#"[][][][]"#, 1))
    }

    @Test func bracketsInStringsDoNotCount() {
        #expect(!Self.exceeds(#"{"a":"[[[[{{{{"}"#, 1))
        #expect(!Self.exceeds(#"{"a":"\"[[[[\\"}"#, 1))
        #expect(Self.exceeds(#"{"a":"\\",[[]]}"#, 2))
    }

    @Test func stopsAtTheLimitOnDeepInput() {
        #expect(Self.exceeds(String(repeating: "[", count: 1_000_000), 32))
    }
}
