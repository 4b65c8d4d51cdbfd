/// Turns a `JobSpecification` into the `batch/v1` Job JSON sent to the API server, with the
/// hardened pod defaults: no service-account token, no privilege escalation, no capabilities,
/// the runtime's default seccomp profile.
///
/// A fan-out (`tasks`) becomes an Indexed Job and a ConfigMap of the same name, owned by the
/// Job, holding `task-<index>.json` per task; the ConfigMap is mounted read-only and
/// `TASK_ARGS_FILE` names the pod's own file.
public enum JobManifest {
    public static let containerName = "job"
    /// Where a fan-out pod finds the task files.
    public static let tasksDirectory = "/var/run/cloud-worker/tasks"

    public static func json(_ spec: JobSpecification) -> [UInt8] {
        // Each object's members in sorted key order, here and below.
        var json = JSONWriter(capacity: 4096)  // a Job's JSON is about 2 kB
        json.object {
            $0.member("apiVersion", "batch/v1")
            $0.member("kind", "Job")
            $0.object("metadata") {
                $0.member("annotations", spec.annotations)
                if !spec.finalizers.isEmpty { $0.member("finalizers", spec.finalizers) }
                $0.member("labels", spec.labels)
                $0.member("name", spec.name)
            }
            $0.object("spec") { writeJobSpec(spec, to: &$0) }
        }
        return json.bytes
    }

    /// The ConfigMap of a fan-out's task arguments, owned by its Job so it goes when the Job
    /// goes; nil when the Job has no tasks.
    public static func taskConfigMap(_ spec: JobSpecification, ownerUID: String) -> [UInt8]? {
        guard !spec.tasks.isEmpty else { return nil }
        var data: [String: String] = [:]
        for (index, task) in spec.tasks.enumerated() { data[taskFileName("\(index)")] = task }
        var json = JSONWriter(capacity: 1024)
        json.object {
            $0.member("apiVersion", "v1")
            $0.member("data", data)
            $0.member("kind", "ConfigMap")
            $0.object("metadata") {
                $0.member("labels", spec.labels)
                $0.member("name", spec.name)
                // The Job as controller: the garbage collector deletes the ConfigMap with it.
                $0.array("ownerReferences") {
                    $0.object {
                        $0.member("apiVersion", "batch/v1")
                        $0.member("controller", true)
                        $0.member("kind", "Job")
                        $0.member("name", spec.name)
                        $0.member("uid", ownerUID)
                    }
                }
            }
        }
        return json.bytes
    }

    static func taskFileName(_ index: String) -> String { "task-\(index).json" }

    private static func writeJobSpec(_ spec: JobSpecification, to json: inout JSONWriter) {
        let fanOut = !spec.tasks.isEmpty
        json.member("activeDeadlineSeconds", spec.activeDeadlineSeconds)
        json.member("backoffLimit", spec.backoffLimit)
        if fanOut {
            json.member("completionMode", "Indexed")
            json.member("completions", spec.tasks.count)
            json.member("parallelism", min(spec.parallelism ?? spec.tasks.count, spec.tasks.count))
        }
        json.object("template") {
            $0.object("metadata") { $0.member("labels", spec.labels) }
            $0.object("spec") { writePodSpec(spec, to: &$0) }
        }
        json.member("ttlSecondsAfterFinished", spec.ttlSecondsAfterFinished)
    }

    private static func writePodSpec(_ spec: JobSpecification, to json: inout JSONWriter) {
        let pod = spec.pod
        json.member("automountServiceAccountToken", false)
        json.array("containers") { $0.object { writeContainer(spec, to: &$0) } }
        if !pod.imagePullSecrets.isEmpty {
            json.array("imagePullSecrets") {
                for secret in pod.imagePullSecrets { $0.object { $0.member("name", secret) } }
            }
        }
        if !pod.nodeSelector.isEmpty { json.member("nodeSelector", pod.nodeSelector) }
        json.member("restartPolicy", "Never")
        json.object("securityContext") {
            if pod.runAsNonRoot { $0.member("runAsNonRoot", true) }
            $0.object("seccompProfile") { $0.member("type", "RuntimeDefault") }
        }
        if let serviceAccountName = pod.serviceAccountName { json.member("serviceAccountName", serviceAccountName) }
        if !pod.tolerations.isEmpty {
            json.array("tolerations") {
                for toleration in pod.tolerations { $0.object { writeToleration(toleration, to: &$0) } }
            }
        }
        if !spec.tasks.isEmpty {
            json.array("volumes") {
                $0.object {
                    $0.object("configMap") { $0.member("name", spec.name) }
                    $0.member("name", "tasks")
                }
            }
        }
    }

    private static func writeContainer(_ spec: JobSpecification, to json: inout JSONWriter) {
        let fanOut = !spec.tasks.isEmpty
        if let args = spec.args { json.member("args", args) }
        if let command = spec.command { json.member("command", command) }
        if fanOut || !spec.env.isEmpty {
            json.array("env") {
                if fanOut {
                    // Declared first so that TASK_ARGS_FILE can expand it; the Job controller then
                    // leaves its own JOB_COMPLETION_INDEX out.
                    $0.object {
                        $0.member("name", "JOB_COMPLETION_INDEX")
                        $0.object("valueFrom") {
                            $0.object("fieldRef") {
                                $0.member("fieldPath", "metadata.annotations['batch.kubernetes.io/job-completion-index']")
                            }
                        }
                    }
                    $0.object {
                        $0.member("name", "TASK_ARGS_FILE")
                        $0.member("value", "\(tasksDirectory)/\(taskFileName("$(JOB_COMPLETION_INDEX)"))")
                    }
                }
                for variable in spec.env { $0.object { writeEnvironmentVariable(variable, to: &$0) } }
            }
        }
        json.member("image", spec.image)
        json.member("imagePullPolicy", "IfNotPresent")
        json.member("name", containerName)
        if let resources = spec.resources {
            json.object("resources") {
                if !resources.limits.isEmpty { $0.member("limits", resources.limits) }
                if !resources.requests.isEmpty { $0.member("requests", resources.requests) }
            }
        }
        json.object("securityContext") {
            $0.member("allowPrivilegeEscalation", false)
            $0.object("capabilities") { $0.member("drop", ["ALL"]) }
            if spec.pod.runAsNonRoot { $0.member("runAsNonRoot", true) }
        }
        json.member("terminationMessagePath", "/dev/termination-log")
        json.member("terminationMessagePolicy", "FallbackToLogsOnError")
        if fanOut {
            json.array("volumeMounts") {
                $0.object {
                    $0.member("mountPath", tasksDirectory)
                    $0.member("name", "tasks")
                    $0.member("readOnly", true)
                }
            }
        }
    }

    private static func writeEnvironmentVariable(_ variable: EnvironmentVariable, to json: inout JSONWriter) {
        json.member("name", variable.name)
        switch variable.source {
        case .value(let value): json.member("value", value)
        case .secretKey(let secret, let key):
            json.object("valueFrom") {
                $0.object("secretKeyRef") {
                    $0.member("key", key)
                    $0.member("name", secret)
                }
            }
        }
    }

    private static func writeToleration(_ toleration: Toleration, to json: inout JSONWriter) {
        if let effect = toleration.effect { json.member("effect", effect) }
        if let key = toleration.key { json.member("key", key) }
        if let `operator` = toleration.operator { json.member("operator", `operator`) }
        if let seconds = toleration.tolerationSeconds { json.member("tolerationSeconds", seconds) }
        if let value = toleration.value { json.member("value", value) }
    }
}
