import Backoff
import Testing

@Suite struct RetryPolicyTests {
    @Test func delaysDoubleUpToTheCap() {
        let policy = RetryPolicy(baseDelay: 0.5, maxDelay: 3, patience: nil)
        #expect((1...5).map { policy.ceiling(afterAttempt: $0) } == [0.5, 1, 2, 3, 3])
        for attempt in 1...8 {
            let delay = policy.delay(afterAttempt: attempt)
            #expect(delay >= 0 && delay <= policy.ceiling(afterAttempt: attempt))
        }
    }

    @Test func patienceIsTimeNotTries() {
        let policy = RetryPolicy(baseDelay: 1, maxDelay: 1, patience: 10)
        var retry = policy.start()
        // Many failures within the first second: the patience is not spent by their number.
        for _ in 0..<50 { #expect(retry.nextDelay(now: retry.started) != nil) }
        // Past the patience, whatever the count.
        #expect(retry.nextDelay(now: retry.started + .seconds(10)) == nil)
    }

    @Test func aWaitThatWouldEndPastThePatienceIsRefused() {
        var retry = RetryPolicy(baseDelay: 5, maxDelay: 5, patience: 10).start()
        #expect(retry.nextDelay(requested: 4, now: retry.started + .seconds(5)) == 4)
        #expect(retry.nextDelay(requested: 6, now: retry.started + .seconds(5)) == nil)
    }

    @Test func serverRequestedDelaysAreHonouredUpToACeiling() {
        var retry = RetryPolicy(baseDelay: 0.1, maxDelay: 1, patience: nil).start()
        #expect(retry.nextDelay(requested: 2) == 2)
        #expect(retry.nextDelay(requested: 600) == 12)
    }

    @Test func foreverNeverGivesUp() {
        var retry = RetryPolicy.forever().start()
        #expect(retry.nextDelay(now: retry.started + .seconds(1_000_000)) != nil)
        #expect(retry.failures == 1)
    }

    @Test func backoffRethrowsTheFailureOncePatienceIsSpent() async {
        struct Failure: Error, Equatable {}
        var retry = RetryPolicy(baseDelay: 1, maxDelay: 1, patience: 0).start()
        await #expect(throws: Failure.self) { try await retry.backoff(after: Failure()) }
    }
}
