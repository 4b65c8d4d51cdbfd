import Foundation
import Testing

@testable import JobRunner

/// `WatchLine` (and `JSONScanner` under it) must give exactly what `JSONDecoder` gives for the
/// same watch events: recorded from the simulator, with escapes, unicode, nulls, unknown and
/// nested fields, an object before its type, BOOKMARK and ERROR events.
@Suite struct WatchLineTests {
    private struct Line<Object: Decodable>: Decodable {
        var type: String
        var object: Object
    }

    static let lines: [[UInt8]] = {
        let url = Bundle.module.url(forResource: "watch-events", withExtension: "jsonl", subdirectory: "Fixtures")!
        return try! Data(contentsOf: url).split(separator: UInt8(ascii: "\n")).map { Array($0) }
    }()

    private static func type(of line: [UInt8]) -> String {
        (try! JSONSerialization.jsonObject(with: Data(line)) as! [String: Any])["type"] as! String
    }

    /// Both values as sorted JSON, to compare every field the models declare.
    private static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    private static func expectSame<Object: KubernetesObject>(_ type: Object.Type, kind: String) throws {
        let lines = Self.lines.filter { line in
            let text = String(decoding: line, as: UTF8.self)
            return text.contains("\"kind\":\"\(kind)\"") || text.contains("\"kind\": \"\(kind)\"")
        }
        var compared = 0
        for line in lines where !["BOOKMARK", "ERROR"].contains(Self.type(of: line)) {
            let expected = try JSONDecoder().decode(Line<Object>.self, from: Data(line))
            guard case .change(let object, let deleted) = try WatchLine<Object>(line) else {
                Issue.record("not read as a change: \(String(decoding: line.prefix(80), as: UTF8.self))")
                continue
            }
            #expect(deleted == (expected.type == "DELETED"))
            #expect(try json(object) == json(expected.object))
            compared += 1
        }
        #expect(compared >= 2)
    }

    @Test func jobsAreReadAsJSONDecoderReadsThem() throws {
        try Self.expectSame(Job.self, kind: "Job")
    }

    @Test func podsAreReadAsJSONDecoderReadsThem() throws {
        try Self.expectSame(Pod.self, kind: "Pod")
    }

    @Test func escapesAndUnicodeAreDecoded() throws {
        let line = Self.lines.first { Self.type(of: $0) == "MODIFIED" }!
        guard case .change(let pod, _) = try WatchLine<Pod>(line) else { throw JSONScanError(expected: "a change", offset: 0) }
        #expect(pod.annotations["note"] == "café 😀 tab\there \"quoted\" back\\slash /slash\nnew line")
        #expect(pod.stuckReason == "ErrImagePull")
        #expect(pod.containerState?.waiting?.message == "failed to pull \"no-such-image:never\": not found — ü")
        #expect(pod.metadata.deletionTimestamp == nil)
    }

    @Test func bookmarksGiveTheirResourceVersion() throws {
        let line = Self.lines.first { Self.type(of: $0) == "BOOKMARK" }!
        guard case .bookmark(let version) = try WatchLine<Job>(line) else { throw JSONScanError(expected: "a bookmark", offset: 0) }
        #expect(version == "710")
    }

    @Test func errorsGiveTheirStatus() throws {
        let line = Self.lines.first { Self.type(of: $0) == "ERROR" }!
        guard case .error(let code, let reason, let message) = try WatchLine<Pod>(line) else {
            throw JSONScanError(expected: "an error", offset: 0)
        }
        #expect(code == 410)
        #expect(reason == "Expired")
        #expect(message == "too old resource version: 1 (687)")
    }

    /// Lists and API replies go through the same scanner: a list of the recorded objects reads
    /// as `JSONDecoder` reads it, and so does an error body's `details`.
    @Test func listsAndErrorBodiesAreReadAsJSONDecoderReadsThem() throws {
        let pods = Self.lines.filter { Self.type(of: $0) != "BOOKMARK" && String(decoding: $0, as: UTF8.self).contains("\"kind\":\"Pod\"") }
            .map { line in
                let event = try! JSONSerialization.jsonObject(with: Data(line)) as! [String: Any]
                return String(decoding: try! JSONSerialization.data(withJSONObject: event["object"]!), as: UTF8.self)
            }
        let list =
            Array(#"{"kind":"PodList","metadata":{"resourceVersion":"712","continue":""},"items":["#.utf8)
            + Array(pods.joined(separator: ",").utf8) + Array("]}".utf8)
        let scanned = try JSONScanner.scan(list) { try ObjectList<Pod>(scanning: &$0) }
        #expect(scanned.items.count == pods.count && pods.count >= 2)
        #expect(try Self.json(scanned) == Self.json(JSONDecoder().decode(ObjectList<Pod>.self, from: Data(list))))

        let status = Array(
            #"{"kind":"Status","status":"Failure","message":"Job.batch \"x\" is invalid","reason":"Invalid","code":422,"details":{"name":"x","causes":[{"reason":"FieldValueInvalid","message":"must be ≥ 0","field":"spec.backoffLimit"},{"reason":"FieldValueRequired"}]}}"#
                .utf8)
        let error = KubernetesClient.error(status: 422, body: status, operation: "create job")
        #expect(error.reason == "Invalid")
        #expect(error.message == #"Job.batch "x" is invalid"#)
        #expect(error.causes == ["spec.backoffLimit: must be ≥ 0", "FieldValueRequired"])
    }

    /// A quote, a backslash or a control character is found wherever it falls in a string,
    /// read or skipped, after plain and non-ASCII bytes of every length.
    @Test func quotesBackslashesAndControlCharactersAreFoundAtEveryOffset() throws {
        for length in 0..<24 {
            let plain = String(repeating: "é", count: length % 3) + String(repeating: "x", count: length)
            let escaped = plain + #"\"q\\"# + plain
            let text = #"{"type":"ADDED","object":{"metadata":{"name":"\#(escaped)","skipped":{"a":["\#(escaped)"]}}}}"#
            guard case .change(let pod, _) = try WatchLine<Pod>(Array(text.utf8)) else {
                throw JSONScanError(expected: "a change", offset: 0)
            }
            #expect(pod.name == plain + "\"q\\" + plain)
            for field in ["name", "skipped"] {
                var raw = Array(#"{"type":"ADDED","object":{"metadata":{"\#(field)":""#.utf8) + Array(plain.utf8)
                raw += [0x01] + Array(#""}}}"#.utf8)
                #expect(throws: JSONScanError.self) { try WatchLine<Pod>(raw) }
            }
        }
    }

    @Test(arguments: [
        #"{"type":"ADDED","object":{"metadata":{"name":"a"}}"#,  // cut short
        #"{"type":"ADDED","object":{"metadata":{"name":"a"}}} x"#,  // text after the value
        #"{"type":"ADDED","object":{"metadata":{"name":7}}}"#,  // a number for a string
        #"{"type":"ADDED","object":{"spec":{}}}"#,  // no metadata
        #"{"type":"ADDED","object":{"metadata":{"name":"a\q"}}}"#,  // not an escape
        #"{"type":"ADDED","object":{"metadata":{},"status":{"conditions":[{"type":"Complete"}]}}}"#,  // no status
        #"{"type":"ADDED"}"#,  // no object
    ])
    func invalidEventsAreRefused(_ text: String) {
        #expect(throws: (any Error).self) { try WatchLine<Job>(Array(text.utf8)) }
    }
}
