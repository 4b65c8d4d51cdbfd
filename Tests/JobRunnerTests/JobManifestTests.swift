import Foundation
import Testing

@testable import JobRunner

@Suite struct JobManifestTests {
    static let spec = JobSpecification(
        name: "test-job-3f2a9c1d",
        labels: ["app.kubernetes.io/managed-by": "cloud-worker"],
        annotations: ["cloud-worker.io/reply-to": "q"],
        image: "registry.example/sample:1.0",
        args: ["--fast"],
        env: [
            EnvironmentVariable("INPUT_BUCKET", "in"),
            EnvironmentVariable("AWS_SECRET_ACCESS_KEY", secret: "cloud-worker-s3", key: "AWS_SECRET_ACCESS_KEY"),
        ],
        resources: Resources(limits: ["memory": "1Gi"]),
        activeDeadlineSeconds: 900,
        backoffLimit: 2,
        ttlSecondsAfterFinished: 3600,
        pod: PodSettings(imagePullSecrets: ["regcred"], runAsNonRoot: true)
    )

    static func object() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(JobManifest.json(spec))) as! [String: Any]
    }

    @Test func jobFields() throws {
        let job = try Self.object()
        #expect(job["apiVersion"] as? String == "batch/v1")
        #expect(job["kind"] as? String == "Job")
        let spec = job["spec"] as! [String: Any]
        #expect(spec["activeDeadlineSeconds"] as? Int == 900)
        #expect(spec["backoffLimit"] as? Int == 2)
        #expect(spec["ttlSecondsAfterFinished"] as? Int == 3600)
        let metadata = job["metadata"] as! [String: Any]
        #expect(metadata["name"] as? String == "test-job-3f2a9c1d")
        #expect((metadata["annotations"] as? [String: String])?["cloud-worker.io/reply-to"] == "q")
    }

    @Test func podIsHardened() throws {
        let pod = (try Self.object()["spec"] as! [String: Any])["template"] as! [String: Any]
        let podSpec = pod["spec"] as! [String: Any]
        #expect(podSpec["restartPolicy"] as? String == "Never")
        #expect(podSpec["automountServiceAccountToken"] as? Bool == false)
        let podSecurity = podSpec["securityContext"] as! [String: Any]
        #expect((podSecurity["seccompProfile"] as? [String: String])?["type"] == "RuntimeDefault")
        #expect(podSecurity["runAsNonRoot"] as? Bool == true)
        let container = (podSpec["containers"] as! [[String: Any]])[0]
        #expect(container["imagePullPolicy"] as? String == "IfNotPresent")
        #expect(container["terminationMessagePolicy"] as? String == "FallbackToLogsOnError")
        let security = container["securityContext"] as! [String: Any]
        #expect(security["allowPrivilegeEscalation"] as? Bool == false)
        #expect((security["capabilities"] as? [String: [String]])?["drop"] == ["ALL"])
        #expect((podSpec["imagePullSecrets"] as? [[String: String]]) == [["name": "regcred"]])
    }

    @Test func secretsAreReferencedNeverCopied() throws {
        let json = String(decoding: JobManifest.json(Self.spec), as: UTF8.self)
        #expect(json.contains(#""secretKeyRef":{"key":"AWS_SECRET_ACCESS_KEY","name":"cloud-worker-s3"}"#))
        #expect(json.contains(#"{"name":"INPUT_BUCKET","value":"in"}"#))
        #expect(!json.contains("\"command\""))  // unset fields are omitted, the image's entrypoint stays
    }

    @Test func singlePodJobHasNoFanOutFields() throws {
        let spec = try #require(Self.object()["spec"] as? [String: Any])
        #expect(spec["completionMode"] == nil && spec["completions"] == nil && spec["parallelism"] == nil)
        #expect(JobManifest.taskConfigMap(Self.spec, ownerUID: "uid-1") == nil)
    }

    @Test func fanOutIsAnIndexedJobReadingItsTaskFromTheConfigMap() throws {
        var spec = Self.spec
        spec.tasks = [#"{"n":1}"#, #""two""#, "3"]
        spec.parallelism = 2
        let job = try #require(try JSONSerialization.jsonObject(with: Data(JobManifest.json(spec))) as? [String: Any])
        let jobSpec = try #require(job["spec"] as? [String: Any])
        #expect(jobSpec["completionMode"] as? String == "Indexed")
        #expect(jobSpec["completions"] as? Int == 3)
        #expect(jobSpec["parallelism"] as? Int == 2)
        let podSpec = try #require((jobSpec["template"] as? [String: Any])?["spec"] as? [String: Any])
        let volume = try #require((podSpec["volumes"] as? [[String: Any]])?.first)
        #expect(volume["name"] as? String == "tasks")
        #expect(volume["configMap"] as? [String: String] == ["name": "test-job-3f2a9c1d"])
        let container = try #require((podSpec["containers"] as? [[String: Any]])?.first)
        let env = try #require(container["env"] as? [[String: Any]])
        // The index comes first so that TASK_ARGS_FILE can expand it.
        #expect(env[0]["name"] as? String == "JOB_COMPLETION_INDEX")
        let fieldPath = ((env[0]["valueFrom"] as? [String: Any])?["fieldRef"] as? [String: String])?["fieldPath"]
        #expect(fieldPath == "metadata.annotations['batch.kubernetes.io/job-completion-index']")
        #expect(env[1]["name"] as? String == "TASK_ARGS_FILE")
        #expect(env[1]["value"] as? String == "/var/run/cloud-worker/tasks/task-$(JOB_COMPLETION_INDEX).json")
        let mounts = try #require(container["volumeMounts"] as? [[String: Any]])
        #expect(mounts.first?["mountPath"] as? String == "/var/run/cloud-worker/tasks")
        #expect(mounts.first?["readOnly"] as? Bool == true)

        let configMapJSON = try #require(JobManifest.taskConfigMap(spec, ownerUID: "uid-1"))
        let configMap = try #require(try JSONSerialization.jsonObject(with: Data(configMapJSON)) as? [String: Any])
        #expect(configMap["data"] as? [String: String] == ["task-0.json": #"{"n":1}"#, "task-1.json": #""two""#, "task-2.json": "3"])
        let owner = try #require(((configMap["metadata"] as? [String: Any])?["ownerReferences"] as? [[String: Any]])?.first)
        #expect(owner["kind"] as? String == "Job")
        #expect(owner["name"] as? String == "test-job-3f2a9c1d")
        #expect(owner["uid"] as? String == "uid-1")
        #expect(owner["controller"] as? Bool == true)
    }
}
