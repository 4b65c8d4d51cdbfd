import Backoff

/// The reconciler's queue of Job keys, in the manner of client-go's workqueue: a key is queued
/// at most once; a key being worked on is not handed out again, and if it is added meanwhile
/// it comes back once the work is done; keys can be added after a delay, and requeued with a
/// per-key backoff while their work keeps failing. Time is passed in, so it is pure.
struct WorkQueue<Key: Hashable & Sendable>: Sendable {
    private var ready: [Key] = []
    private var readyStart = 0
    private var queued: Set<Key> = []
    private var processing: Set<Key> = []
    private var dirty: Set<Key> = []
    private var delayed = DueTimes<Key>()
    private var failures: [Key: Int] = [:]
    /// Backoff of `addRateLimited`: the policy's ceiling for the key's failures so far (no
    /// jitter, so that the queue stays deterministic; its keys are spread by their events).
    let failureBackoff: RetryPolicy

    init(failureBackoff: RetryPolicy = .forever(baseDelay: 0.05, maxDelay: 30)) {
        self.failureBackoff = failureBackoff
    }

    /// Keys waiting to be handed out now.
    var readyCount: Int { ready.count - readyStart }

    /// Records the queue holds (a key may have several), for the bounded-state checks.
    var trackedKeys: Int { queued.count + processing.count + dirty.count + delayed.keys.count + failures.count }

    /// When the earliest delayed key is due (seconds on the caller's clock).
    var nextDue: Double? { mutating get { delayed.earliest() } }

    /// Queues `key` now. A delayed entry for it is dropped: the work it leads to decides anew
    /// when to look again.
    mutating func add(_ key: Key) {
        delayed.set(key, nil)
        if processing.contains(key) {
            dirty.insert(key)
        } else if queued.insert(key).inserted {
            ready.append(key)
        }
    }

    /// Queues `key` at `now + delay`, unless it is due sooner already.
    mutating func add(_ key: Key, after delay: Double, now: Double) {
        guard delay > 0 else { return add(key) }
        if queued.contains(key) { return }
        let due = now + delay
        delayed.set(key, min(delayed[key] ?? due, due))
    }

    /// Queues `key` after its backoff, which doubles with each call until `forgetFailures`.
    mutating func addRateLimited(_ key: Key, now: Double) {
        let count = (failures[key] ?? 0) + 1
        failures[key] = count
        add(key, after: failureBackoff.ceiling(afterAttempt: count), now: now)
    }

    /// The key's work went well: its backoff starts again from the base.
    mutating func forgetFailures(_ key: Key) {
        failures[key] = nil
    }

    /// Drops every record of `key` (its Job is gone) unless it is being worked on.
    mutating func forget(_ key: Key) {
        failures[key] = nil
        delayed.set(key, nil)
    }

    /// The next key to work on, moving due delayed keys to the ready ones first.
    mutating func pop(now: Double) -> Key? {
        for key in delayed.takeDue(by: now) {
            if processing.contains(key) {
                dirty.insert(key)
            } else if queued.insert(key).inserted {
                ready.append(key)
            }
        }
        guard readyStart < ready.count else { return nil }
        let key = ready[readyStart]
        readyStart += 1
        if readyStart > 64, readyStart * 2 > ready.count {
            ready.removeFirst(readyStart)
            readyStart = 0
        }
        queued.remove(key)
        processing.insert(key)
        return key
    }

    /// The work on `key` is over; if it was added meanwhile, it is queued again.
    mutating func done(_ key: Key) {
        processing.remove(key)
        if dirty.remove(key) != nil, queued.insert(key).inserted {
            ready.append(key)
        }
    }
}
