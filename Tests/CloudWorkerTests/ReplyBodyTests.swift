import Foundation
import Testing

@testable import CloudWorker

/// A reply's body is what `JSONEncoder` writes for it with sorted keys, byte for byte: every
/// member in key order, absent ones left out, strings escaped as JSON requires.
@Suite struct ReplyBodyTests {
    static let full = Reply(
        requestId: "r-1", jobName: "sample", k8sJob: "sample-1a2b", namespace: "jobs", status: .failed,
        reason: "BackoffLimitExceeded", message: "exit 3\n\"quoted\"\t\\ and /slashes/ and é and \u{1}",
        exitCode: 3, terminationMessage: "bye", startedAt: "2026-12-07T10:00:00Z", completedAt: "2026-12-07T10:00:02Z",
        durationMs: 2000, result: "Job sample-1a2b failed: BackoffLimitExceeded.", outputBucket: "out",
        logs: [
            .init(pod: "sample-1a2b-x", key: "logs/sample-1a2b-x.log", bytes: 12, complete: true),
            .init(pod: "sample-1a2b-y", key: "logs/sample-1a2b-y.log", bytes: 0, complete: false, error: "stream cut"),
        ],
        logsComplete: false, tasks: .init(total: 2, succeeded: 1, failed: 1))

    static let bare = Reply(requestId: "r-2", status: .rejected, result: "Job request rejected.")

    @Test(arguments: [full, bare])
    func theBodyIsWhatJSONEncoderWritesWithSortedKeys(_ reply: Reply) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let expected = try encoder.encode(reply)
        #expect(String(decoding: reply.json, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
        #expect(try JSONDecoder().decode(Reply.self, from: Data(reply.json)) == reply)
    }
}
