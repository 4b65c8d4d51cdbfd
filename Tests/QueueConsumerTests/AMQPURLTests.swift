import Testing

@testable import QueueConsumer

@Suite struct AMQPURLTests {
    @Test func parsesEveryPart() throws {
        let url = try AMQPURL(parsing: "amqps://us%40er:p%3Ass@broker.example:5999/my%2Fvhost")
        #expect(url.useTLS)
        #expect(url.user == "us@er")
        #expect(url.password == "p:ss")
        #expect(url.host == "broker.example")
        #expect(url.port == 5999)
        #expect(url.virtualHost == "my/vhost")
    }

    @Test func defaults() throws {
        let plain = try AMQPURL(parsing: "amqp://localhost")
        #expect(plain.port == 5672)
        #expect(plain.virtualHost == "/")
        #expect(plain.user == "guest")
        #expect(try AMQPURL(parsing: "amqps://h").port == 5671)
        #expect(try AMQPURL(parsing: "amqp://h/%2F").virtualHost == "/")
        #expect(try AMQPURL(parsing: "amqp://[::1]:5673").host == "::1")
    }

    @Test(arguments: ["http://h", "h:5672", "amqp://h:99999", "amqp://u:p@h:x"])
    func rejectsBadURLs(_ text: String) {
        #expect(throws: AMQPError.self) { try AMQPURL(parsing: text) }
    }

    @Test func neverShowsThePassword() throws {
        let url = try AMQPURL(parsing: "amqp://user:hunter2@h:5672/v")
        #expect(!url.description.contains("hunter2"))
        do {
            _ = try AMQPURL(parsing: "amqp://user:hunter2@h:bad/v")
            Issue.record("expected an error")
        } catch {
            #expect(!error.description.contains("hunter2"))
            #expect(error.code == .invalidURL)
        }
    }
}

@Suite struct ConfirmTrackerTests {
    @Test func settlesSingleAndMultiple() {
        var tracker = ConfirmTracker()
        #expect(tracker.published(id: 10) == 1)
        #expect(tracker.published(id: 11) == 2)
        #expect(tracker.published(id: 12) == 3)
        #expect(tracker.settle(tag: 2, multiple: false) == [11])
        #expect(tracker.settle(tag: 3, multiple: true) == [10, 12])
        #expect(tracker.isEmpty)
    }

    @Test func resetReturnsUnconfirmedInOrderAndRestartsNumbering() {
        var tracker = ConfirmTracker()
        _ = tracker.published(id: 1)
        _ = tracker.published(id: 2)
        #expect(tracker.reset() == [1, 2])
        #expect(tracker.published(id: 3) == 1)
    }
}
