import Backoff
import HTTPTransport

/// Where the store is and how to talk to it. Every field but the credentials has a default.
public struct S3Configuration: Sendable {
    /// `scheme://host[:port]`, e.g. `https://s3.amazonaws.com` or `http://127.0.0.1:8333`.
    public var endpoint: String
    public var region: String
    public var credentials: S3Credentials
    /// `http://host/bucket/key` (what S3-compatible stores want) rather than `bucket.host/key`.
    public var pathStyle: Bool
    /// Uploads larger than this go as multipart uploads.
    public var multipartThreshold: Int
    /// Size of each multipart part (S3 requires at least 5 MiB for all but the last).
    public var partSize: Int
    /// Parts uploaded at once; memory use is about (this + 1) × `partSize`.
    public var concurrentParts: Int
    public var retry: RetryPolicy

    public init(
        endpoint: String = "https://s3.amazonaws.com",
        region: String = "us-east-1",
        credentials: S3Credentials,
        pathStyle: Bool = true,
        multipartThreshold: Int = 16 << 20,
        partSize: Int = 8 << 20,
        concurrentParts: Int = 3,
        retry: RetryPolicy = RetryPolicy(baseDelay: 0.1, maxDelay: 5, patience: 10)
    ) {
        self.concurrentParts = concurrentParts
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
        self.pathStyle = pathStyle
        self.multipartThreshold = multipartThreshold
        self.partSize = partSize
        self.retry = retry
    }
}
