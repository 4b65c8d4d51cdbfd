/// Capped exponential backoff with full jitter, shared by the S3 and Kubernetes clients.
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int
    public var baseDelay: Double
    public var maxDelay: Double

    public init(maxAttempts: Int = 5, baseDelay: Double = 0.1, maxDelay: Double = 5) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// Seconds to wait before attempt `attempt + 1` (attempt counts from 1).
    public func delay(afterAttempt attempt: Int) -> Double {
        let ceiling = min(maxDelay, baseDelay * Double(1 << min(attempt - 1, 20)))
        return Double.random(in: 0...ceiling)
    }

    /// Sleeps the backoff delay, or `requested` seconds when the server said how long to wait.
    public func wait(afterAttempt attempt: Int, requested: Double? = nil) async throws {
        let seconds = requested.map { min($0, maxDelay * 12) } ?? delay(afterAttempt: attempt)
        try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
    }
}
