import Backoff
import Foundation
import HTTPTransport
import JobRunner
import Logging
import Metrics
import QueueConsumer
import RequestValidation

/// Turns deliveries into Jobs: validate, create the Job (adopting one that exists), then ack.
/// Invalid requests get a `rejected` reply and go to the dead-letter queue; nothing is acked
/// before its Job exists.
struct RequestPipeline: Sendable {
    let configuration: WorkerConfiguration
    let jobSpecs: JobSpecBuilder
    let amqp: AMQPClient
    let kubernetes: KubernetesClient
    let replies: ReplyPublisher
    /// Told of each Job this pipeline creates.
    let reconciler: JobReconciler
    /// The requests this replica rejected, for its status page.
    let rejections: RejectedRequests
    let logger: Logger

    /// Handles deliveries until the stream ends or the task is cancelled.
    func run() async {
        await withDiscardingTaskGroup { group in
            for await delivery in amqp.deliveries {
                if Task.isCancelled { break }
                group.addTask { await handle(delivery) }
            }
        }
    }

    func handle(_ delivery: AMQPDelivery) async {
        let received = DispatchTime.now()
        let identity = RequestIdentity(message: delivery.message)
        var logger = self.logger
        logger[metadataKey: "request"] = "\(identity.value)"
        do {
            // Size first: an oversized body was never read into memory.
            if let bytes = delivery.discardedBodyBytes {
                let rejection = RequestMessage.oversized(bytes: bytes, limit: configuration.requests.limits.maxRequestBytes)
                try await reject(delivery, identity: identity, rejection: rejection, logger: logger)
                return
            }
            let headers = delivery.message.properties.headers
            switch DeliveryCount.decide(redelivered: delivery.redelivered, headers: headers, limit: configuration.maxDeliveries) {
            case .handle:
                break
            case .republish(let count):
                try await republish(delivery, count: count, logger: logger)
                return
            case .deadLetter(let count):
                let reason = "came \(count) times, more than the limit of \(configuration.maxDeliveries): handling it may stop the worker"
                try await reject(
                    delivery, identity: identity, rejection: RequestRejection(field: "delivery", reason: reason), logger: logger)
                return
            }
            let message: RequestMessage
            do {
                message = try RequestMessage(
                    body: delivery.message.body, type: delivery.message.properties.type, policy: configuration.requests)
            } catch {
                try await reject(delivery, identity: identity, rejection: error, logger: logger)
                return
            }
            switch message {
            case .cancel(let target):
                let cancel = CancelRequest(target: target, message: delivery.message)
                try await handle(cancel, delivery: delivery, identity: identity, logger: logger)
            case .work(let request):
                try await handle(request, delivery: delivery, identity: identity, received: received, logger: logger)
            }
        } catch let error as AMQPError where error.code == .deliveryVoid {
            logger.info("delivery void after reconnect; the broker redelivers it", metadata: ["error": "\(error)"])
        } catch is CancellationError {
            return
        } catch {
            logger.error("request handling failed; the delivery is redelivered", metadata: ["error": "\(error)"])
            try? await amqp.reject(delivery, requeue: true)
        }
    }

    /// Creates the request's Job, then acks; a request the API server refuses is rejected.
    private func handle(
        _ request: WorkRequest, delivery: AMQPDelivery, identity: RequestIdentity, received: DispatchTime, logger: Logger
    ) async throws {
        let spec = jobSpecs.specification(
            for: request, identity: identity, message: delivery.message, now: Date())
        do {
            let repeated = DeliveryCount.isRepeat(headers: delivery.message.properties.headers)
            try await createJob(spec, identity: identity, repeated: repeated, logger: logger)
        } catch let rejection as RequestRejection {
            try await reject(delivery, identity: identity, rejection: rejection, logger: logger)
            return
        }
        Timer(label: "cloud_worker_phase_seconds", dimensions: [("phase", "dispatch")]).recordInterval(since: received)
        Counter(label: "cloud_worker_requests_total", dimensions: [("outcome", "accepted")]).increment()
        try await amqp.ack(delivery)
    }

    /// Cancels the unfinished Jobs the request names: marks each with who cancelled it and
    /// stops its pods (an active deadline already past); the lifecycle then reports it
    /// `cancelled`, once, with its logs. The same cancel come again names the Jobs it stopped
    /// and gets the same answer. Naming no such Job is a rejection, and so is a refusal of the
    /// API server's that no retry mends.
    private func handle(_ cancel: CancelRequest, delivery: AMQPDelivery, identity: RequestIdentity, logger: Logger) async throws {
        let selector = jobSpecs.selector
        let targets: [Job]
        do {
            let jobs = try await retryingWhileUnreachable(logger: logger) {
                try await kubernetes.list(Job.self, labelSelector: selector).items
            }
            let stopped = CancelRequest.stopped(by: identity.value, in: jobs)
            let toStop = cancel.matches(jobs, scope: configuration.cancelScope).filter { job in !stopped.contains { $0.name == job.name } }
            try await retryingWhileUnreachable(logger: logger) {
                for job in toStop { try await stop(job, cancelledBy: identity, logger: logger) }
            }
            targets = stopped + toStop
        } catch let rejection as RequestRejection {
            try await reject(delivery, identity: identity, rejection: rejection, logger: logger)
            return
        }
        guard !targets.isEmpty else {
            let rejection = RequestRejection(
                field: "cancel", reason: "no unfinished job has the request id or name \(RequestRejection.quoted(cancel.target))")
            try await reject(delivery, identity: identity, rejection: rejection, logger: logger)
            return
        }
        let names = targets.map(\.name).joined(separator: ", ")
        let reply = Reply(
            requestId: identity.value, jobName: targets.first?.annotations[JobMetadata.requestedName], k8sJob: targets.first?.name,
            namespace: targets.first?.metadata.namespace, status: .succeeded, reason: "Cancelled",
            message: "cancelled \(names)", result: "Cancelled \(names).")
        let properties = delivery.message.properties
        try await replies.publish(
            reply, replyTo: properties.replyTo, correlationID: properties.correlationID ?? properties.messageID, logger: logger)
        Counter(label: "cloud_worker_requests_total", dimensions: [("outcome", "cancel")]).increment()
        try await amqp.ack(delivery)
    }

    /// Marks the Job with who cancelled it and stops its pods (an active deadline already past).
    private func stop(_ job: Job, cancelledBy identity: RequestIdentity, logger: Logger) async throws {
        do {
            let now = Date()
            let patch = JobPatch.stop(
                job: job, now: now,
                annotations: [JobMetadata.cancelledBy: identity.value, JobMetadata.stopRequested: now.formatted(.iso8601)])
            _ = try await kubernetes.patchJob(job.name, patch, resourceVersion: nil)
            logger.info("job cancelled", metadata: ["job": "\(job.name)"])
        } catch let error as KubernetesError where error.status == 404 {
            logger.info("job to cancel is gone already", metadata: ["job": "\(job.name)"])
        }
    }

    /// Creates the Job, and for a fan-out its task ConfigMap, retrying while the API server is
    /// unreachable. 409 means it exists: it is adopted if it was made for this request, else the
    /// request is rejected. A Job of this request that was reported already (kept for the jobs
    /// pages) is replaced when the producer asks again, and adopted, without a second run or
    /// reply, when this is the same message come back (`repeated`). The ConfigMap comes second
    /// because it names the Job's uid as its owner; the pods wait for it to mount. Throws a
    /// `RequestRejection` for what no retry fixes.
    private func createJob(_ spec: JobSpecification, identity: RequestIdentity, repeated: Bool, logger: Logger) async throws {
        let manifest = JobManifest.json(spec)
        let ownerUID = try await retryingWhileUnreachable(logger: logger) { () async throws -> String? in
            while true {
                // Told before the POST: the Job's pod can be watched running before its reply comes.
                await reconciler.creating(spec.name)
                do {
                    let job = try await kubernetes.createJob(manifest)
                    logger.info("job created", metadata: ["job": "\(spec.name)", "image": "\(spec.image)"])
                    return job.metadata.uid
                } catch {
                    await reconciler.notCreated(spec.name)
                    guard let conflict = error as? KubernetesError, conflict.status == 409 else { throw error }
                }
                let existing = try await kubernetes.getJob(spec.name)
                guard existing.annotations[JobMetadata.requestID] == identity.value else {
                    throw RequestRejection(
                        field: "jobName", reason: "a Job named \(spec.name) exists already and was not made for this request")
                }
                guard existing.annotations[JobMetadata.reported] != nil, !repeated else {
                    logger.info("job exists already; adopting it", metadata: ["job": "\(spec.name)"])
                    return existing.metadata.uid
                }
                logger.info("request asked again after its reply; replacing its finished job", metadata: ["job": "\(spec.name)"])
                try await delete(existing)
            }
        }
        guard let ownerUID, let configMap = JobManifest.taskConfigMap(spec, ownerUID: ownerUID) else { return }
        do {
            try await retryingWhileUnreachable(logger: logger) {
                do {
                    try await kubernetes.createConfigMap(configMap)
                } catch let error as KubernetesError where error.status == 409 {
                    // Made by an earlier delivery of this request.
                }
            }
        } catch let rejection as RequestRejection {
            try await withdraw(spec.name, logger: logger)
            throw rejection
        }
    }

    /// Removes a Job whose request is rejected after it was made (its pods would wait for their
    /// tasks for ever): marked reported, since the rejection is its one reply, and released, so
    /// that no replica reports it, then deleted.
    private func withdraw(_ name: String, logger: Logger) async throws {
        let release = JobPatch(annotations: [JobMetadata.reported: "true"], finalizers: [])
        try await retryingWhileUnreachable(logger: logger) {
            do {
                _ = try await kubernetes.patchJob(name, release, resourceVersion: nil)
                try await kubernetes.deleteJob(name)
            } catch let error as KubernetesError where error.status == 404 {
                // Gone already.
            }
        }
        logger.info("job withdrawn: its request was rejected", metadata: ["job": "\(name)"])
    }

    /// Deletes a reported Job and waits until it is gone, for its name to be free again.
    private func delete(_ job: Job) async throws {
        do {
            try await kubernetes.deleteJob(job.name)
        } catch let error as KubernetesError where error.status == 404 {
            return
        }
        guard try await kubernetes.untilDeleted(job, timeoutSeconds: 60) else {
            throw RequestRejection(
                field: "jobName", reason: "the earlier Job \(job.name) of this request is still being deleted after 60 s")
        }
    }

    /// Runs `operation` until the API server answers. What it refuses for good (a 4xx other than
    /// 409 and 429) becomes a rejection naming its message, never a requeue.
    private func retryingWhileUnreachable<T>(logger: Logger, _ operation: () async throws -> T) async throws -> T {
        var retry = RetryPolicy.forever(baseDelay: 0.5, maxDelay: 30).start()
        while true {
            do {
                return try await operation()
            } catch let error as KubernetesError where (400..<500).contains(error.status) && error.status != 409 && error.status != 429 {
                // A 422's causes say which field of the Job was invalid.
                let cause = error.status == 422 ? error.causes.first : nil
                throw RequestRejection(field: cause.map { "job (\($0))" } ?? "job", reason: error.message)
            } catch let error as KubernetesError where error.isRetryable {
                logger.warning(
                    "cannot reach the API server; will retry", metadata: ["error": "\(error)", "attempt": "\(retry.failures + 1)"])
                try await retry.backoff(after: error)
            }
        }
    }

    /// Puts a redelivered message back with its delivery count, then acks it.
    private func republish(_ delivery: AMQPDelivery, count: Int, logger: Logger) async throws {
        var copy = republishable(delivery.message)
        copy.properties.headers[DeliveryCount.header] = String(count)
        try await amqp.publish(copy, routingKey: configuration.amqp.topology.requestQueue)
        logger.warning("request delivered again; put back with its count", metadata: ["deliveries": "\(count)"])
        try await amqp.ack(delivery)
    }

    /// The broker refuses a publish whose `user_id` is not the worker's own user, so a copy
    /// keeps only that one.
    private func republishable(_ message: AMQPMessage) -> AMQPMessage {
        var copy = message
        if copy.properties.userID != configuration.amqp.url.user { copy.properties.userID = nil }
        return copy
    }

    /// Replies `rejected`, moves the message to the dead-letter queue with the reason in its
    /// headers (confirmed), then acks it.
    private func reject(_ delivery: AMQPDelivery, identity: RequestIdentity, rejection: RequestRejection, logger: Logger) async throws {
        logger.warning("request rejected", metadata: ["field": "\(rejection.field)", "reason": "\(rejection.reason)"])
        Counter(label: "cloud_worker_requests_total", dimensions: [("outcome", "rejected")]).increment()
        var deadLetter = republishable(delivery.message)
        deadLetter.properties.headers["x-rejected-field"] = rejection.field
        deadLetter.properties.headers["x-rejected-reason"] = rejection.reason
        deadLetter.properties.headers["x-original-queue"] = configuration.amqp.topology.requestQueue
        deadLetter.properties.headers["x-request-id"] = identity.value
        deadLetter.properties.headers["x-original-user-id"] = delivery.message.properties.userID
        try await amqp.publish(deadLetter, routingKey: configuration.amqp.topology.deadLetterQueue)
        let properties = delivery.message.properties
        let jobName = RequestMessage.jobName(in: delivery.message.body, limits: configuration.requests.limits)
        rejections.record(requestID: identity.value, jobName: jobName, reason: rejection.description)
        if let replyTo = properties.replyTo, !replyTo.isEmpty {
            let reply = Reply.rejected(requestID: identity.value, jobName: jobName, rejection: rejection)
            try await replies.publish(
                reply, replyTo: replyTo, correlationID: properties.correlationID ?? properties.messageID, logger: logger)
        }
        try await amqp.ack(delivery)
    }
}
