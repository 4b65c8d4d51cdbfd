/// Everything a request is checked against: its caps, and which images, resources, buckets and
/// log keys it may use. Producers are untrusted; this is what the operator allows them.
public struct RequestPolicy: Sendable {
    public var limits = RequestLimits()
    public var images = ImagePolicy()
    public var resources = ResourcePolicy()
    public var buckets = BucketPolicy()
    public var logKey = LogKeyTemplate.standard

    public init() {}
}
