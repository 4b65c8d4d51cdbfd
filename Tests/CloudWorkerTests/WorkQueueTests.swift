import Backoff
import Testing

@testable import CloudWorker

@Suite struct WorkQueueTests {
    @Test func aKeyIsQueuedOnceHoweverOftenItIsAdded() {
        var queue = WorkQueue<String>()
        for _ in 0..<5 { queue.add("a") }
        queue.add("b")
        #expect(queue.pop(now: 0) == "a")
        #expect(queue.pop(now: 0) == "b")
        #expect(queue.pop(now: 0) == nil)
    }

    @Test func aKeyAddedWhileItIsWorkedOnComesBackOnceDone() {
        var queue = WorkQueue<String>()
        queue.add("a")
        #expect(queue.pop(now: 0) == "a")
        queue.add("a")
        queue.add("a")
        #expect(queue.pop(now: 0) == nil, "not handed out twice at once")
        queue.done("a")
        #expect(queue.pop(now: 0) == "a")
        queue.done("a")
        #expect(queue.pop(now: 0) == nil)
    }

    @Test func delayedKeysComeWhenDueAndTheEarliestDueWins() {
        var queue = WorkQueue<String>()
        queue.add("a", after: 10, now: 0)
        queue.add("a", after: 3, now: 0)
        queue.add("a", after: 20, now: 0)
        #expect(queue.nextDue == 3)
        #expect(queue.pop(now: 2.9) == nil)
        #expect(queue.pop(now: 3) == "a")
        #expect(queue.nextDue == nil)
    }

    @Test func anAddNowReplacesAPendingDelay() {
        var queue = WorkQueue<String>()
        queue.add("a", after: 30, now: 0)
        queue.add("a")
        #expect(queue.pop(now: 0) == "a")
        queue.done("a")
        #expect(queue.nextDue == nil)
        #expect(queue.pop(now: 100) == nil)
    }

    @Test func failuresBackOffExponentiallyUntilForgotten() {
        var queue = WorkQueue<String>(failureBackoff: .forever(baseDelay: 1, maxDelay: 5))
        var dues: [Double] = []
        for _ in 0..<5 {
            queue.addRateLimited("a", now: 0)
            dues.append(queue.nextDue ?? -1)
            _ = queue.pop(now: 100)
            queue.done("a")
        }
        #expect(dues == [1, 2, 4, 5, 5])
        queue.forgetFailures("a")
        queue.addRateLimited("a", now: 0)
        #expect(queue.nextDue == 1)
    }

    @Test func forgottenKeysLeaveNoRecord() {
        var queue = WorkQueue<Int>()
        for key in 0..<1000 {
            queue.add(key)
            _ = queue.pop(now: 0)
            queue.addRateLimited(key, now: 0)
            queue.done(key)
            queue.forget(key)
        }
        #expect(queue.trackedKeys == 0)
        #expect(queue.readyCount == 0)
    }
}
