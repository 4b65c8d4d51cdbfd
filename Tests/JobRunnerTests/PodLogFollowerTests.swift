import Foundation
import Testing

@testable import JobRunner

@Suite struct LogTimestampTests {
    @Test func parsesAndOrdersToTheNanosecond() throws {
        let a = try #require(LogTimestamp("2026-11-22T02:35:58.123456789Z"))
        let b = try #require(LogTimestamp("2026-11-22T02:35:58.12345679Z"))
        let c = try #require(LogTimestamp("2026-11-22T02:35:59Z"))
        #expect(a < b && b < c)
        #expect(a.wholeSeconds == "2026-11-22T02:35:58Z")
        #expect(c.seconds == 1_795_314_959)  // date -d 2026-11-22T02:35:59Z +%s
        #expect(LogTimestamp("not a time") == nil)
    }

    @Test(arguments: [
        ("2026-12-07T13:25:36Z", 1_796_649_936.0),
        ("2026-12-07T13:25:36.25Z", 1_796_649_936.25),
        ("2026-12-07T14:25:36+01:00", 1_796_649_936.0),  // not UTC: read by Foundation
        ("1970-01-01T00:00:00Z", 0),
    ])
    func timestampsAreReadToTheFraction(_ text: String, _ seconds: Double) {
        #expect(LogTimestamp.date(text)?.timeIntervalSince1970 == seconds)
    }

    @Test func whatIsNoTimestampIsNoDate() {
        #expect(LogTimestamp.date("yesterday") == nil)
        #expect(LogTimestamp.date("2026-13-45") == nil)
        #expect(LogTimestamp.date(nil) == nil)
    }
}

@Suite struct ResumeFilterTests {
    static func line(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func stripsTimestamps() {
        var filter = ResumeFilter()
        #expect(filter.accept(Self.line("2026-11-22T02:35:58.1Z hello world")) == Self.line("hello world\n"))
        #expect(filter.accept(Self.line("no timestamp here")) == Self.line("no timestamp here\n"))
    }

    @Test func resumedStreamSkipsWhatWasAlreadyTaken() {
        var filter = ResumeFilter()
        var output: [UInt8] = []
        for text in ["2026-11-22T02:35:58.1Z a", "2026-11-22T02:35:58.2Z b", "2026-11-22T02:35:58.2Z c"] {
            output += filter.accept(Self.line(text))
        }
        #expect(filter.resumeFrom?.wholeSeconds == "2026-11-22T02:35:58Z")
        filter.startResume()
        // The kubelet resends everything from the start of that second.
        for text in [
            "2026-11-22T02:35:58.1Z a", "2026-11-22T02:35:58.2Z b", "2026-11-22T02:35:58.2Z c", "2026-11-22T02:35:58.2Z d",
            "2026-11-22T02:35:59.0Z e",
        ] {
            output += filter.accept(Self.line(text))
        }
        #expect(String(decoding: output, as: UTF8.self) == "a\nb\nc\nd\ne\n")
    }
}

@Suite struct ResumeFilterPositionTests {
    static func line(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func aFilterRestoredFromAPositionCarriesOnWithoutRepeats() {
        var first = ResumeFilter()
        var output: [UInt8] = []
        for text in ["2026-11-22T02:35:58.1Z a", "2026-11-22T02:35:58.2Z b", "2026-11-22T02:35:58.2Z c"] {
            output += first.accept(Self.line(text))
        }
        let saved = first.position
        #expect(saved == LogPosition(timestamp: "2026-11-22T02:35:58.2Z", linesAtTimestamp: 2))

        // Another process: the kubelet resends from the start of that second.
        var second = ResumeFilter(position: saved)
        second.startResume()
        #expect(second.resumeFrom?.wholeSeconds == "2026-11-22T02:35:58Z")
        for text in ["2026-11-22T02:35:58.1Z a", "2026-11-22T02:35:58.2Z b", "2026-11-22T02:35:58.2Z c", "2026-11-22T02:35:59.0Z d"] {
            output += second.accept(Self.line(text))
        }
        #expect(String(decoding: output, as: UTF8.self) == "a\nb\nc\nd\n")
    }

    @Test func aResumedStreamThatStartsLaterShowsAGap() {
        let filter = ResumeFilter(position: LogPosition(timestamp: "2026-11-22T02:35:58.2Z", linesAtTimestamp: 1))
        #expect(!filter.startsAfterPosition(Self.line("2026-11-22T02:35:58.2Z b")), "the last line taken, again: no gap")
        #expect(!filter.startsAfterPosition(Self.line("2026-11-22T02:35:58.1Z a")))
        #expect(filter.startsAfterPosition(Self.line("2026-11-22T02:36:10.0Z x")), "the kubelet no longer has what came between")
    }
}
