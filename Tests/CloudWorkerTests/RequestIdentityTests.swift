import Testing

@testable import CloudWorker
@testable import QueueConsumer

@Suite struct RequestIdentityTests {
    @Test func prefersMessageIDThenCorrelationIDThenBodyHash() {
        let body = Array("{}".utf8)
        #expect(RequestIdentity(message: AMQPMessage(body: body, properties: .init(messageID: "m", correlationID: "c"))).value == "m")
        #expect(RequestIdentity(message: AMQPMessage(body: body, properties: .init(correlationID: "c"))).value == "c")
        let hashed = RequestIdentity(message: AMQPMessage(body: body))
        #expect(hashed.value == "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
        #expect(hashed == RequestIdentity(message: AMQPMessage(body: body)))
        #expect(hashed.label.count == 40)
    }
}

@Suite struct ReplyTests {
    @Test func summaryFollowsMSTC() {
        #expect(Reply.summary(job: "test-job-3f2a9c1d", status: .succeeded, reason: "Completed") == "Job test-job-3f2a9c1d complete.")
        #expect(Reply.summary(job: "j", status: .failed, reason: "BackoffLimitExceeded") == "Job j failed: BackoffLimitExceeded.")
    }

    @Test func durationBetweenTimestamps() {
        #expect(Reply.duration(from: "2026-01-01T00:00:00Z", to: "2026-01-01T00:00:10Z") == 10_000)
        #expect(Reply.duration(from: nil, to: "2026-01-01T00:00:10Z") == nil)
    }
}
