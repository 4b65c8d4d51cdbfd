import Foundation
import Testing

@testable import JobRunner

@Suite struct JSONWriterTests {
    static func written(_ write: (inout JSONWriter) -> Void) -> String {
        var json = JSONWriter(capacity: 0)
        write(&json)
        return String(decoding: json.bytes, as: UTF8.self)
    }

    @Test func quoteAndBackslashAreEscaped() {
        #expect(Self.written { $0.string(#"say "hi" \ C:\dir\"#) } == #""say \"hi\" \\ C:\\dir\\""#)
    }

    @Test func everyControlCharacterIsEscaped() {
        let controls = String(String.UnicodeScalarView((0..<0x20).map { Unicode.Scalar(UInt8($0)) }))
        let expected =
            #""\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f"#
            + #"\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f""#
        #expect(Self.written { $0.string(controls) } == expected)
    }

    @Test func nonASCIIAndSlashAreCopiedAsTheyAre() {
        let text = "é 日本語 🚀 \u{7F} \u{2028} a/b </script>"
        #expect(Self.written { $0.string(text) } == "\"\(text)\"")
    }

    @Test func membersAndElementsAreSeparatedByCommasAtEveryDepth() {
        let json = Self.written { json in
            json.object {
                $0.member("int", -42)
                $0.array("mixed") {
                    $0.int(Int.max)
                    $0.bool(true)
                    $0.null()
                    $0.object { _ in }
                    $0.array { _ in }
                    $0.strings(["x"])
                }
                $0.object("nested") {
                    $0.object("deeper") { $0.member("flag", false) }
                    $0.key("none")
                    $0.null()
                }
                $0.member("strings", ["a", "b"])
                $0.member("map", ["z": "1", "a": "2", "m": "3"])
                $0.member("empty", [String: String]())
            }
        }
        #expect(
            json == #"{"int":-42,"mixed":[9223372036854775807,true,null,{},[],["x"]],"nested":{"deeper":{"flag":false},"none":null},"#
                + #""strings":["a","b"],"map":{"a":"2","m":"3","z":"1"},"empty":{}}"#)
    }

    static let trickyStrings = [
        "", "plain", #"""#, #"\"#, #"\""#, #"\\"#, "\\u0041", "line\nbreak\r\n", "\t\u{8}\u{C}", "\u{0}nul\u{1F}", "\u{7F}",
        "é", "e\u{301}", "日本語", "🚀👩‍👩‍👧", "\u{2028}\u{2029}", "/", "http://a/b", "</script>", "{\"k\":[1,2]}", " spaced ",
    ]

    /// Each string as a member name and as its value, read back by `JSONSerialization`.
    @Test(arguments: trickyStrings) func roundTrip(_ text: String) throws {
        let json = Self.written { json in
            json.array {
                $0.string(text)
                $0.object { $0.member(text, text) }
                $0.strings([text, text])
            }
        }
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [Any])
        #expect(parsed[0] as? String == text)
        #expect(parsed[1] as? [String: String] == [text: text])
        #expect(parsed[2] as? [String] == [text, text])
    }
}

/// A JSON object as `JSONSerialization` reads it, to compare whatever the formatting.
func parsedObject(_ json: [UInt8]) throws -> NSDictionary {
    NSDictionary(dictionary: try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any]))
}

/// Whether the JSON is compact with every object's keys sorted: `JSONSerialization` writes
/// what it reads from it back the same.
func isCompactWithSortedKeys(_ json: [UInt8]) throws -> Bool {
    let written = try JSONSerialization.data(
        withJSONObject: JSONSerialization.jsonObject(with: Data(json)), options: [.sortedKeys, .withoutEscapingSlashes])
    return [UInt8](written) == json
}
