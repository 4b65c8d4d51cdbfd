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
    /// Which worker holds the Job (follows its logs, reports it) and since when it last said
    /// so: set at creation, renewed while it finishes, taken over once stale.
    static let claimedBy = "cloud-worker.io/claimed-by"
    static let claimedAt = "cloud-worker.io/claimed-at"
    /// The request id of the cancel request that stopped the Job.
    static let cancelledBy = "cloud-worker.io/cancelled-by"
    /// Set when the worker stopped the Job's pods (a cancel, or a deletion while they ran).
    static let stopRequested = "cloud-worker.io/stop-requested"
    /// Set, with the finalizer's removal, once the reply is confirmed: nobody reports it again.
    static let reported = "cloud-worker.io/reported"
    /// Holds a deleted Job (and so its pods and logs) until its reply is confirmed.
    static let reportFinalizer = "cloud-worker.io/report"
}
