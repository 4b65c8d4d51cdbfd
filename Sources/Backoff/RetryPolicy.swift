/// Capped exponential backoff with full jitter, and a patience given as time rather than a
/// number of tries. One policy type serves every retry of the worker: Kubernetes and S3 calls,
/// log streams, replies, archives and the broker reconnection.
public struct RetryPolicy: Sendable, Equatable {
    /// Ceiling of the first delay, in seconds; each failure doubles it.
    public var baseDelay: Double
    /// Largest delay between two attempts, in seconds.
    public var maxDelay: Double
    /// How long to keep trying after the first failure, in seconds; nil: until cancelled.
    public var patience: Double?

    public init(baseDelay: Double = 0.1, maxDelay: Double = 5, patience: Double? = 30) {
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.patience = patience
    }

    /// Tries until cancelled, never giving up.
    public static func forever(baseDelay: Double = 0.2, maxDelay: Double = 10) -> RetryPolicy {
        RetryPolicy(baseDelay: baseDelay, maxDelay: maxDelay, patience: nil)
    }

    /// The jittered delay before attempt `attempt + 1` (attempt counts from 1).
    public func delay(afterAttempt attempt: Int) -> Double {
        Double.random(in: 0...ceiling(afterAttempt: attempt))
    }

    /// The largest delay the jitter may pick after `attempt` failures.
    public func ceiling(afterAttempt attempt: Int) -> Double {
        min(maxDelay, baseDelay * Double(1 << min(max(attempt, 1) - 1, 30)))
    }

    /// Starts counting the failures of one operation.
    public func start() -> Retry {
        Retry(policy: self, started: .now)
    }
}

/// The retries of one operation: how many failures so far and since when.
public struct Retry: Sendable {
    public let policy: RetryPolicy
    public let started: ContinuousClock.Instant
    public private(set) var failures = 0

    /// Seconds to wait before the next attempt, or nil when the patience is spent (the wait
    /// would end past it). `requested` is a delay the server asked for (`Retry-After`); it is
    /// honoured up to twelve times the policy's largest delay.
    public mutating func nextDelay(requested: Double? = nil, now: ContinuousClock.Instant = .now) -> Double? {
        failures += 1
        let delay = requested.map { min($0, policy.maxDelay * 12) } ?? policy.delay(afterAttempt: failures)
        if let patience = policy.patience {
            guard (now - started).inSeconds + delay <= patience else { return nil }
        }
        return delay
    }

    /// Sleeps before the next attempt, or rethrows `error` when the patience is spent.
    public mutating func backoff(after error: any Error, requested: Double? = nil) async throws {
        guard let delay = nextDelay(requested: requested) else { throw error }
        try await Task.sleep(for: .seconds(delay))
    }
}

extension Duration {
    /// The duration as seconds with their fraction, for arithmetic with delays given as Double.
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
