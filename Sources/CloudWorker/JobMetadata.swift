/// Labels and annotations the worker puts on its Jobs. The annotations make the Job the durable
/// record of the request: everything the reply needs survives a worker restart.
enum JobMetadata {
    static let managedByLabel = "app.kubernetes.io/managed-by"
    static let managedByValue = "cloud-worker"
    static let requestLabel = "cloud-worker.io/request"
    /// Which worker deployment (request queue) owns the Job, so that deployments sharing a
    /// namespace do not finish each other's Jobs.
    static let poolLabel = "cloud-worker.io/pool"

    static let requestID = "cloud-worker.io/request-id"
    static let replyTo = "cloud-worker.io/reply-to"
    static let correlationID = "cloud-worker.io/correlation-id"
    static let requestedName = "cloud-worker.io/job-name"
    static let outputBucket = "cloud-worker.io/output-bucket"
    static let filePrefix = "cloud-worker.io/file-prefix"
    /// The AMQP user that published the request (its broker-checked `user_id`), if it said.
    static let producer = "cloud-worker.io/producer"
    static let claimedBy = "cloud-worker.io/claimed-by"
    static let claimedAt = "cloud-worker.io/claimed-at"
    /// The request id of the cancel request that deleted the Job.
    static let cancelledBy = "cloud-worker.io/cancelled-by"
    /// Set when the reply went out but the Job is kept (its logs could not all be archived).
    static let reported = "cloud-worker.io/reported"
}
