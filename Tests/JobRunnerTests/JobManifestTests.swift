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
        let json = String(decoding: try JobManifest.json(Self.spec), as: UTF8.self)
        #expect(json.contains(#""secretKeyRef":{"key":"AWS_SECRET_ACCESS_KEY","name":"cloud-worker-s3"}"#))
        #expect(json.contains(#"{"name":"INPUT_BUCKET","value":"in"}"#))
        #expect(!json.contains("\"command\""))  // unset fields are omitted, the image's entrypoint stays
    }
}
