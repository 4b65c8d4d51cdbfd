import Foundation
import HTTPTransport
import Logging
import Testing

@testable import JobRunner

/// JobRunner against the Kubernetes API simulator (a process per test): Jobs run to their end,
/// watches ride out faults, errors are reported as the API server states them. Each test runs
/// over plain HTTP, over HTTPS with a CA and a bearer token, and with a kubeconfig that names a
/// client certificate.
@Suite(.serialized) struct SimulatorTests {
    static func started(_ access: Access, extraArguments: [String] = []) async throws -> (Simulator, ClusterView, String) {
        let simulator = try Simulator(access, extraArguments: extraArguments)
        let run = "r\(UUID().uuidString.prefix(8).lowercased())"
        let view = ClusterView(client: simulator.client)
        await view.start(selector: "test-run=\(run)")
        return (simulator, view, run)
    }

    @Test(arguments: Access.allCases) func jobSucceedsWithItsLogAndTerminationMessage(access: Access) async throws {
        let (simulator, view, run) = try await Self.started(access)
        // The simulator lives until the watches stop, so they never retry a server that is gone.
        defer {
            Task {
                await view.stop(); withExtendedLifetime(simulator) {}
            }
        }
        let spec = testJob(
            run: run, script: #"echo "hello from $HOSTNAME"; echo second line; printf 'all good' > "$TERMINATION_MESSAGE_PATH""#)
        try await create(spec, on: simulator.client)

        let (_, outcome, pods) = try await view.finish(spec.name)
        #expect(outcome.status == .succeeded)
        #expect(outcome.reason == "Completed")
        #expect(outcome.exitCode == 0)
        #expect(outcome.terminationMessage == "all good")
        #expect(pods.count == 1)
        let pod = try #require(pods.first)
        #expect(try await view.log(of: pod.name) == "hello from \(pod.name)\nsecond line\n")
    }

    @Test(arguments: Access.allCases) func failureCarriesExitCodeAndTerminationMessage(access: Access) async throws {
        let (simulator, view, run) = try await Self.started(access)
        // The simulator lives until the watches stop, so they never retry a server that is gone.
        defer {
            Task {
                await view.stop(); withExtendedLifetime(simulator) {}
            }
        }
        let spec = testJob(run: run, script: #"echo working; printf 'disk full' > "$TERMINATION_MESSAGE_PATH"; exit 3"#)
        try await create(spec, on: simulator.client)

        let (_, outcome, _) = try await view.finish(spec.name)
        #expect(outcome.status == .failed)
        #expect(outcome.reason == "BackoffLimitExceeded")
        #expect(outcome.exitCode == 3)
        #expect(outcome.terminationMessage == "disk full")
    }

    @Test(arguments: Access.allCases) func backoffLimitTwoGivesThreePodsAndThreeLogs(access: Access) async throws {
        let (simulator, view, run) = try await Self.started(access)
        // The simulator lives until the watches stop, so they never retry a server that is gone.
        defer {
            Task {
                await view.stop(); withExtendedLifetime(simulator) {}
            }
        }
        let spec = testJob(run: run, script: #"echo "attempt in $HOSTNAME"; exit 1"#, backoffLimit: 2)
        try await create(spec, on: simulator.client)

        let (job, outcome, pods) = try await view.finish(spec.name)
        #expect(outcome.status == .failed)
        #expect(outcome.reason == "BackoffLimitExceeded")
        #expect(outcome.exitCode == 1)
        #expect(job.status?.failed == 3)
        #expect(pods.count == 3)
        #expect(Set(pods.map(\.name)).count == 3)
        for pod in pods {
            #expect(try await view.log(of: pod.name) == "attempt in \(pod.name)\n")
        }
    }

    @Test(arguments: Access.allCases) func deadlineExceededIsTimedOut(access: Access) async throws {
        let (simulator, view, run) = try await Self.started(access)
        // The simulator lives until the watches stop, so they never retry a server that is gone.
        defer {
            Task {
                await view.stop(); withExtendedLifetime(simulator) {}
            }
        }
        let spec = testJob(run: run, script: "echo started; sleep 60", deadline: 5)
        try await create(spec, on: simulator.client)

        let (_, outcome, pods) = try await view.finish(spec.name)
        #expect(outcome.status == .timedOut)
        #expect(outcome.reason == "DeadlineExceeded")
        let pod = try #require(pods.first)
        #expect(try await view.log(of: pod.name) == "started\n")
    }

    @Test(arguments: Access.allCases) func unknownImageIsSeenStuckWithinTheGrace(access: Access) async throws {
        let (simulator, view, run) = try await Self.started(access)
        // The simulator lives until the watches stop, so they never retry a server that is gone.
        defer {
            Task {
                await view.stop(); withExtendedLifetime(simulator) {}
            }
        }
        let spec = testJob(run: run, script: "true", image: "registry.example.com/no-such-image:1")
        try await create(spec, on: simulator.client)

        let grace = 10.0
        let started = Date()
        try await view.wait("the pod to be stuck pulling its image", timeout: grace) { view in
            view.pods(of: spec.name).contains { $0.stuckReason != nil }
        }
        #expect(Date().timeIntervalSince(started) < grace)
        let reason = await view.pods(of: spec.name).compactMap(\.stuckReason).first
        #expect(reason == "ErrImagePull" || reason == "ImagePullBackOff")
        #expect(await view.job(spec.name).flatMap(JobOutcome.finalCondition) == nil)

        // The worker gives up on such a Job by deleting it, pods included.
        try await simulator.client.deleteJob(spec.name)
        try await view.wait("the Job and its pod to go") { view in
            view.job(spec.name) == nil && view.pods(of: spec.name).allSatisfy { view.deletedPods.contains($0.name) }
        }
    }

    @Test(arguments: Access.allCases) func indexedFanOutGivesEachTaskItsOwnArguments(access: Access) async throws {
        let (simulator, view, run) = try await Self.started(access)
        // The simulator lives until the watches stop, so they never retry a server that is gone.
        defer {
            Task {
                await view.stop(); withExtendedLifetime(simulator) {}
            }
        }
        let tasks = (0..<20).map { #"{"task":\#($0),"word":"w\#($0 * 7)"}"# }
        let spec = testJob(
            run: run, script: #"cat "$TASK_ARGS_FILE"; echo; echo "index=$JOB_COMPLETION_INDEX""#, tasks: tasks, parallelism: 5)
        try await create(spec, on: simulator.client)

        let (job, outcome, pods) = try await view.finish(spec.name, timeout: 120)
        #expect(outcome.status == .succeeded)
        #expect(outcome.tasks == JobOutcome.TaskCounts(total: 20, succeeded: 20))
        #expect(job.status?.succeeded == 20)
        #expect(pods.count == 20)
        var seen: Set<Int> = []
        for pod in pods {
            let index = try #require(pod.annotations["batch.kubernetes.io/job-completion-index"].flatMap { Int($0) })
            seen.insert(index)
            #expect(try await view.log(of: pod.name) == "\(tasks[index])\nindex=\(index)\n")
        }
        #expect(seen == Set(0..<20))
    }

    @Test(arguments: Access.allCases) func watchesSurviveExpiryCutStreamsAndServerErrors(access: Access) async throws {
        let (simulator, view, run) = try await Self.started(access)
        // The simulator lives until the watches stop, so they never retry a server that is gone.
        defer {
            Task {
                await view.stop(); withExtendedLifetime(simulator) {}
            }
        }
        let first = testJob(run: run, script: "echo one; sleep 4")
        try await create(first, on: simulator.client)
        try await view.wait("the first pod to run") { view in
            view.pods(of: first.name).contains { $0.containerState?.running != nil }
        }

        // History forgotten (410 as HTTP status and as an ERROR event), streams cut without
        // their last chunk, and a storm of 503s on every Job and Pod request meanwhile.
        try await simulator.expireWatches()
        try await simulator.addFault(["errorStatus": 503, "pathContains": "/namespaces/default/", "method": "GET", "count": 12])
        try await simulator.cutWatches()
        try await simulator.admin("POST", "/_sim/config", ["expiredWatchAsEvent": true])
        try await simulator.expireWatches()
        try await simulator.cutWatches()

        let second = testJob(run: run, script: "echo two")
        try await create(second, on: simulator.client)
        let (_, firstOutcome, _) = try await view.finish(first.name)
        let (_, secondOutcome, secondPods) = try await view.finish(second.name)
        #expect(firstOutcome.status == .succeeded)
        #expect(secondOutcome.status == .succeeded)
        #expect(try await view.log(of: try #require(secondPods.first).name) == "two\n")
        let requests = try await simulator.requestCounts()
        #expect((requests["GET /apis/batch/v1/namespaces/{ns}/jobs"] ?? 0) > 2, "the Job watch was re-listed or re-opened")
    }

    @Test(arguments: Access.allCases) func tooManyRequestsWaitsAsRetryAfterAsks(access: Access) async throws {
        let simulator = try Simulator(access)
        let spec = testJob(run: "throttled", script: "true")
        try await create(spec, on: simulator.client)
        try await simulator.addFault(["throttleRate": 1.0, "retryAfterSeconds": 1, "pathContains": "/jobs/\(spec.name)", "count": 2])

        let started = Date()
        let job = try await simulator.client.getJob(spec.name)
        // The client's own back-off is 50 ms; only the two Retry-After: 1 make it a second each.
        #expect(Date().timeIntervalSince(started) >= 1.9)
        #expect(job.name == spec.name)
        #expect(try await simulator.requestCounts()["GET /apis/batch/v1/namespaces/{ns}/jobs/{name}"] == 3)
    }

    @Test(arguments: Access.allCases) func createConflictsAndNotFoundAreTypedNotRetried(access: Access) async throws {
        let simulator = try Simulator(access)
        let spec = testJob(run: "verbs", script: "sleep 2")
        let manifest = JobManifest.json(spec)
        let created = try await simulator.client.createJob(manifest)

        let duplicate = await #expect(throws: KubernetesError.self) { try await simulator.client.createJob(manifest) }
        #expect(duplicate?.status == 409)
        #expect(duplicate?.reason == "AlreadyExists")

        // A claim at the version we read wins (the Job controller may move the Job on between a
        // read and the claim: then read again); a second claim at that old version conflicts.
        var seen = created
        var claimed: Job?
        for _ in 0..<10 where claimed == nil {
            do {
                claimed = try await simulator.client.patchJob(
                    spec.name, JobPatch(annotations: ["claimed-by": "a"]), resourceVersion: seen.metadata.resourceVersion)
            } catch let error as KubernetesError where error.status == 409 {
                seen = try await simulator.client.getJob(spec.name)
            }
        }
        #expect(claimed?.annotations["claimed-by"] == "a")
        let conflict = await #expect(throws: KubernetesError.self) {
            try await simulator.client.patchJob(
                spec.name, JobPatch(annotations: ["claimed-by": "b"]), resourceVersion: seen.metadata.resourceVersion)
        }
        #expect(conflict?.status == 409)
        #expect(conflict?.reason == "Conflict")

        try await simulator.client.deleteJob(spec.name)
        let getsBefore = try await simulator.requestCounts()["GET /apis/batch/v1/namespaces/{ns}/jobs/{name}"] ?? 0
        let missing = await #expect(throws: KubernetesError.self) { try await simulator.client.getJob(spec.name) }
        #expect(missing?.status == 404)
        #expect(missing?.reason == "NotFound")
        #expect(
            try await simulator.requestCounts()["GET /apis/batch/v1/namespaces/{ns}/jobs/{name}"] == getsBefore + 1, "a 404 is not retried")
    }

    @Test func aDeletionIsWaitedForOnAWatchOfTheJob() async throws {
        let simulator = try Simulator(.plain)
        let created = try await simulator.client.createJob(JobManifest.json(testJob(run: "until-deleted", script: "sleep 30")))
        // Nothing deletes it: the watch ends with its timeout.
        let started = ContinuousClock.now
        #expect(try await simulator.client.untilDeleted(created, timeoutSeconds: 1) == false)
        #expect(ContinuousClock.now - started >= .seconds(1))
        // Deleted after the version given, before the wait began: the watch replays the deletion.
        try await simulator.client.deleteJob(created.name)
        #expect(try await simulator.client.untilDeleted(created, timeoutSeconds: 30) == true)
        // Two watches (counted as gets of the collection) and one get, after the first watch's
        // timeout: no polling.
        let counts = try await simulator.requestCounts()
        #expect(counts["GET /apis/batch/v1/namespaces/{ns}/jobs"] == 2, "\(counts)")
        #expect(counts["GET /apis/batch/v1/namespaces/{ns}/jobs/{name}"] == 1, "\(counts)")
    }

    @Test(arguments: [Access.tlsToken, .kubeconfigClientCertificate]) func missingOrWrongCredentialsAreReportedAsUnauthorized(
        access: Access
    )
        async throws
    {
        let simulator = try Simulator(access)
        var configuration = simulator.client.configuration
        configuration.tls.clientCertificateFile = nil
        configuration.tls.clientKeyPEM = nil
        configuration.token = access == .tlsToken ? "wrong-token" : nil
        let client = KubernetesClient(configuration: configuration, logger: Logger(label: "test"))

        let error = await #expect(throws: KubernetesError.self) { try await client.list(Job.self, labelSelector: "a=b") }
        #expect(error?.status == 401)
        #expect(error?.reason == "Unauthorized")
        #expect(error?.description.contains("list jobs failed: Unauthorized (HTTP 401)") == true)
        #expect(error?.isRetryable == false)
    }
}
