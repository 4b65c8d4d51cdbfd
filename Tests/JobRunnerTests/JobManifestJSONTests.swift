import Foundation
import Testing

@testable import JobRunner

/// The whole JSON of a Job and of its task ConfigMap, written out: every field, default and
/// omission the API server gets.
@Suite struct JobManifestJSONTests {
    static let rich = JobSpecification(
        name: "render-7c1e",
        labels: ["app.kubernetes.io/managed-by": "cloud-worker", "cloud-worker.io/request": "r-42"],
        annotations: ["cloud-worker.io/reply-to": "replies", "note": "quote \" backslash \\ tab \t é /path"],
        finalizers: ["cloud-worker.io/report"],
        image: "registry.example/render:2.1",
        command: ["sh", "-c"],
        args: ["render --frames $(TASK_ARGS_FILE)"],
        env: [
            EnvironmentVariable("MODE", "full"),
            EnvironmentVariable("AWS_SECRET_ACCESS_KEY", secret: "cloud-worker-s3", key: "secret-key"),
        ],
        resources: Resources(requests: ["cpu": "500m", "memory": "256Mi"], limits: ["memory": "1Gi", "nvidia.com/gpu": "1"]),
        activeDeadlineSeconds: 1800,
        backoffLimit: 1,
        ttlSecondsAfterFinished: 600,
        pod: PodSettings(
            imagePullSecrets: ["regcred", "mirror"],
            nodeSelector: ["disktype": "ssd", "kubernetes.io/arch": "amd64"],
            tolerations: [
                Toleration(key: "gpu", operator: "Equal", value: "true", effect: "NoSchedule"),
                Toleration(operator: "Exists"),
                Toleration(key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 30),
            ],
            runAsNonRoot: true,
            serviceAccountName: "renderer"),
        tasks: [#"{"frame":1}"#, #"{"frame":2}"#, #"{"frame":3}"#],
        parallelism: 2
    )

    @Test func richFanOutJob() throws {
        let expected = #"""
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {
                    "annotations": {"cloud-worker.io/reply-to": "replies", "note": "quote \" backslash \\ tab \t é /path"},
                    "finalizers": ["cloud-worker.io/report"],
                    "labels": {"app.kubernetes.io/managed-by": "cloud-worker", "cloud-worker.io/request": "r-42"},
                    "name": "render-7c1e"
                },
                "spec": {
                    "activeDeadlineSeconds": 1800,
                    "backoffLimit": 1,
                    "completionMode": "Indexed",
                    "completions": 3,
                    "parallelism": 2,
                    "template": {
                        "metadata": {
                            "labels": {"app.kubernetes.io/managed-by": "cloud-worker", "cloud-worker.io/request": "r-42"}
                        },
                        "spec": {
                            "automountServiceAccountToken": false,
                            "containers": [
                                {
                                    "args": ["render --frames $(TASK_ARGS_FILE)"],
                                    "command": ["sh", "-c"],
                                    "env": [
                                        {
                                            "name": "JOB_COMPLETION_INDEX",
                                            "valueFrom": {
                                                "fieldRef": {
                                                    "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"
                                                }
                                            }
                                        },
                                        {
                                            "name": "TASK_ARGS_FILE",
                                            "value": "/var/run/cloud-worker/tasks/task-$(JOB_COMPLETION_INDEX).json"
                                        },
                                        {"name": "MODE", "value": "full"},
                                        {
                                            "name": "AWS_SECRET_ACCESS_KEY",
                                            "valueFrom": {"secretKeyRef": {"key": "secret-key", "name": "cloud-worker-s3"}}
                                        }
                                    ],
                                    "image": "registry.example/render:2.1",
                                    "imagePullPolicy": "IfNotPresent",
                                    "name": "job",
                                    "resources": {
                                        "limits": {"memory": "1Gi", "nvidia.com/gpu": "1"},
                                        "requests": {"cpu": "500m", "memory": "256Mi"}
                                    },
                                    "securityContext": {
                                        "allowPrivilegeEscalation": false,
                                        "capabilities": {"drop": ["ALL"]},
                                        "runAsNonRoot": true
                                    },
                                    "terminationMessagePath": "/dev/termination-log",
                                    "terminationMessagePolicy": "FallbackToLogsOnError",
                                    "volumeMounts": [
                                        {"mountPath": "/var/run/cloud-worker/tasks", "name": "tasks", "readOnly": true}
                                    ]
                                }
                            ],
                            "imagePullSecrets": [{"name": "regcred"}, {"name": "mirror"}],
                            "nodeSelector": {"disktype": "ssd", "kubernetes.io/arch": "amd64"},
                            "restartPolicy": "Never",
                            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
                            "serviceAccountName": "renderer",
                            "tolerations": [
                                {"effect": "NoSchedule", "key": "gpu", "operator": "Equal", "value": "true"},
                                {"operator": "Exists"},
                                {
                                    "effect": "NoExecute",
                                    "key": "node.kubernetes.io/unreachable",
                                    "operator": "Exists",
                                    "tolerationSeconds": 30
                                }
                            ],
                            "volumes": [{"configMap": {"name": "render-7c1e"}, "name": "tasks"}]
                        }
                    },
                    "ttlSecondsAfterFinished": 600
                }
            }
            """#
        let json = JobManifest.json(Self.rich)
        #expect(try parsedObject(json) == parsedObject(Array(expected.utf8)))
        #expect(try isCompactWithSortedKeys(json))
    }

    @Test func minimalJob() throws {
        let spec = JobSpecification(name: "j-1", labels: [:], annotations: [:], image: "busybox", activeDeadlineSeconds: 60)
        let expected = #"""
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"annotations": {}, "labels": {}, "name": "j-1"},
                "spec": {
                    "activeDeadlineSeconds": 60,
                    "backoffLimit": 0,
                    "template": {
                        "metadata": {"labels": {}},
                        "spec": {
                            "automountServiceAccountToken": false,
                            "containers": [
                                {
                                    "image": "busybox",
                                    "imagePullPolicy": "IfNotPresent",
                                    "name": "job",
                                    "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
                                    "terminationMessagePath": "/dev/termination-log",
                                    "terminationMessagePolicy": "FallbackToLogsOnError"
                                }
                            ],
                            "restartPolicy": "Never",
                            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}
                        }
                    },
                    "ttlSecondsAfterFinished": 3600
                }
            }
            """#
        let json = JobManifest.json(spec)
        #expect(try parsedObject(json) == parsedObject(Array(expected.utf8)))
        #expect(try isCompactWithSortedKeys(json))
    }

    @Test func taskConfigMap() throws {
        let expected = #"""
            {
                "apiVersion": "v1",
                "data": {"task-0.json": "{\"frame\":1}", "task-1.json": "{\"frame\":2}", "task-2.json": "{\"frame\":3}"},
                "kind": "ConfigMap",
                "metadata": {
                    "labels": {"app.kubernetes.io/managed-by": "cloud-worker", "cloud-worker.io/request": "r-42"},
                    "name": "render-7c1e",
                    "ownerReferences": [
                        {"apiVersion": "batch/v1", "controller": true, "kind": "Job", "name": "render-7c1e", "uid": "0b7e-uid"}
                    ]
                }
            }
            """#
        let json = try #require(JobManifest.taskConfigMap(Self.rich, ownerUID: "0b7e-uid"))
        #expect(try parsedObject(json) == parsedObject(Array(expected.utf8)))
        #expect(try isCompactWithSortedKeys(json))
    }
}
