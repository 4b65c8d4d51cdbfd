import Foundation
import Logging
import Testing

@testable import CloudWorker

/// The text log keeps swift-log's `StreamLogHandler` line format, which operators' tools and
/// the end-to-end tests read; the JSON log is one object per line.
@Suite struct WorkerLogHandlerTests {
    @Test func aLineHasTheTimeLevelLabelSortedMetadataSourceAndMessage() {
        var handler = WorkerLogHandler(label: "cloud-worker", format: .text)
        handler[metadataKey: "request"] = "r-1"
        handler[metadataKey: "job"] = "old"
        let event = LogEvent(
            level: .info, message: "job created", metadata: ["job": "sample-abc", "image": "busybox:latest"],
            source: "CloudWorker", file: #fileID, function: #function, line: #line)
        let seconds: time_t = 1_796_660_509
        #expect(
            handler.line(for: event, at: seconds)
                == "\(WorkerLogHandler.timestamp(seconds)) info cloud-worker: image=busybox:latest job=sample-abc request=r-1 [CloudWorker] job created\n"
        )
        let bare = LogEvent(level: .warning, message: "m", metadata: nil, source: "S", file: #fileID, function: #function, line: #line)
        #expect(
            WorkerLogHandler(label: "l", format: .text).line(for: bare, at: seconds)
                == "\(WorkerLogHandler.timestamp(seconds)) warning l: [S] m\n")
    }

    @Test func aJSONLineIsOneObjectWithTheMetadata() throws {
        var handler = WorkerLogHandler(label: "cloud-worker", format: .json)
        handler[metadataKey: "request"] = "r-1"
        let event = LogEvent(
            level: .error, message: "said \"no\"", metadata: ["job": "j"], source: "CloudWorker", file: #fileID, function: #function,
            line: #line)
        let line = handler.line(for: event, at: 0)
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(
            object == [
                "time": "1970-01-01T00:00:00Z", "level": "error", "logger": "cloud-worker", "message": "said \"no\"", "request": "r-1",
                "job": "j",
            ])
    }

    /// The same text as strftime's `%Y-%m-%dT%H:%M:%S%z`, which StreamLogHandler uses.
    @Test(arguments: [0, 951_782_400, 1_796_660_509, 2_147_483_647] as [time_t])
    func theTimestampIsStrftimes(_ seconds: time_t) {
        var copy = seconds
        var parts = tm()
        localtime_r(&copy, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        let expected = String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #expect(WorkerLogHandler.timestamp(seconds) == expected)
    }
}
