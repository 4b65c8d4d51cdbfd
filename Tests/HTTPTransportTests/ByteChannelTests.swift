import Synchronization
import Testing

@testable import HTTPTransport

/// The channel between a transfer and its reader, without a transfer: every order of the two
/// sides' calls that matters, made deterministic.
@Suite struct ByteChannelTests {
    static func offer(_ channel: ByteChannel, _ text: String) -> ResponseSink.Decision {
        Array(text.utf8).withUnsafeBytes { channel.offer($0) }
    }

    static let cancelledEnd = HTTPError(kind: .cancelled, curlCode: 0, message: "cancelled", target: "GET /")

    @Test func aCancelledReaderGetsCancellationErrorWhateverEndedTheTransferFirst() async throws {
        let stopped = Atomic(0)
        let channel = ByteChannel(limit: 1 << 20)
        channel.connect(resume: {}, cancel: { stopped.add(1, ordering: .relaxed) })
        #expect(Self.offer(channel, "buffered") == .accept)
        channel.cancel()
        // The transfer, told to stop, ends as cancelled before the reader asks again.
        channel.finish(.failure(Self.cancelledEnd))
        await #expect(throws: CancellationError.self) { _ = try await channel.next() }
        #expect(stopped.load(ordering: .relaxed) == 1)
        #expect(Self.offer(channel, "late") == .abort)
    }

    @Test func withoutCancelTheBufferedBytesComeBeforeTheEnd() async throws {
        let channel = ByteChannel(limit: 1 << 20)
        channel.connect(resume: {}, cancel: {})
        #expect(Self.offer(channel, "one") == .accept)
        #expect(Self.offer(channel, "two") == .accept)
        channel.finish(.success(()))
        #expect(try await channel.next() == Array("one".utf8))
        #expect(try await channel.next() == Array("two".utf8))
        #expect(try await channel.next() == nil)
    }

    @Test func aReaderBehindPausesTheTransferAndCatchingUpResumesIt() async throws {
        let resumed = Atomic(0)
        let channel = ByteChannel(limit: 4)
        channel.connect(resume: { resumed.add(1, ordering: .relaxed) }, cancel: {})
        #expect(Self.offer(channel, "full") == .accept)
        #expect(Self.offer(channel, "more") == .pause)
        #expect(try await channel.next() == Array("full".utf8))
        #expect(resumed.load(ordering: .relaxed) == 1)
        #expect(Self.offer(channel, "more") == .accept)
    }
}
