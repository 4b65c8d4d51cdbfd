import Foundation

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

    public static func json(_ spec: JobSpecification) throws -> [UInt8] {
        try encode(manifest(spec))
    }

    /// The ConfigMap of a fan-out's task arguments, owned by its Job so it goes when the Job
    /// goes; nil when the Job has no tasks.
    public static func taskConfigMap(_ spec: JobSpecification, ownerUID: String) throws -> [UInt8]? {
        guard !spec.tasks.isEmpty else { return nil }
        var data: [String: String] = [:]
        for (index, task) in spec.tasks.enumerated() { data[taskFileName("\(index)")] = task }
        let owner = ConfigMapManifest.OwnerReference(name: spec.name, uid: ownerUID)
        return try encode(
            ConfigMapManifest(
                metadata: .init(name: spec.name, labels: spec.labels, ownerReferences: [owner]), data: data))
    }

    static func taskFileName(_ index: String) -> String { "task-\(index).json" }

    private static func encode(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return [UInt8](try encoder.encode(value))
    }

    static func manifest(_ spec: JobSpecification) -> Manifest {
        let fanOut = !spec.tasks.isEmpty
        var env = spec.env.map { variable -> Manifest.EnvVar in
            switch variable.source {
            case .value(let value): Manifest.EnvVar(name: variable.name, value: value)
            case .secretKey(let secret, let key):
                Manifest.EnvVar(name: variable.name, valueFrom: .init(secretKeyRef: .init(name: secret, key: key)))
            }
        }
        if fanOut {
            // Declared first so that TASK_ARGS_FILE can expand it; the Job controller then leaves
            // its own JOB_COMPLETION_INDEX out.
            env.insert(
                contentsOf: [
                    Manifest.EnvVar(
                        name: "JOB_COMPLETION_INDEX",
                        valueFrom: .init(fieldRef: .init(fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']"))),
                    Manifest.EnvVar(name: "TASK_ARGS_FILE", value: "\(tasksDirectory)/\(taskFileName("$(JOB_COMPLETION_INDEX)"))"),
                ], at: 0)
        }
        let container = Manifest.Container(
            name: containerName,
            image: spec.image,
            command: spec.command,
            args: spec.args,
            env: env.isEmpty ? nil : env,
            resources: spec.resources.map { .init(requests: $0.requests.nilIfEmpty, limits: $0.limits.nilIfEmpty) },
            imagePullPolicy: "IfNotPresent",
            terminationMessagePath: "/dev/termination-log",
            terminationMessagePolicy: "FallbackToLogsOnError",
            volumeMounts: fanOut ? [.init(name: "tasks", mountPath: tasksDirectory, readOnly: true)] : nil,
            securityContext: .init(
                allowPrivilegeEscalation: false,
                capabilities: .init(drop: ["ALL"]),
                runAsNonRoot: spec.pod.runAsNonRoot ? true : nil
            )
        )
        let podSpec = Manifest.PodSpec(
            restartPolicy: "Never",
            automountServiceAccountToken: false,
            serviceAccountName: spec.pod.serviceAccountName,
            securityContext: .init(
                runAsNonRoot: spec.pod.runAsNonRoot ? true : nil,
                seccompProfile: .init(type: "RuntimeDefault")
            ),
            imagePullSecrets: spec.pod.imagePullSecrets.isEmpty ? nil : spec.pod.imagePullSecrets.map { .init(name: $0) },
            nodeSelector: spec.pod.nodeSelector.nilIfEmpty,
            tolerations: spec.pod.tolerations.isEmpty ? nil : spec.pod.tolerations,
            containers: [container],
            volumes: fanOut ? [.init(name: "tasks", configMap: .init(name: spec.name))] : nil
        )
        return Manifest(
            metadata: .init(
                name: spec.name, labels: spec.labels, annotations: spec.annotations,
                finalizers: spec.finalizers.isEmpty ? nil : spec.finalizers),
            spec: .init(
                activeDeadlineSeconds: spec.activeDeadlineSeconds,
                backoffLimit: spec.backoffLimit,
                ttlSecondsAfterFinished: spec.ttlSecondsAfterFinished,
                completionMode: fanOut ? "Indexed" : nil,
                completions: fanOut ? spec.tasks.count : nil,
                parallelism: fanOut ? min(spec.parallelism ?? spec.tasks.count, spec.tasks.count) : nil,
                template: .init(metadata: .init(labels: spec.labels), spec: podSpec)
            )
        )
    }
}

/// The Job object's JSON shape; optional fields left nil are omitted.
struct Manifest: Encodable {
    var apiVersion = "batch/v1"
    var kind = "Job"
    var metadata: Metadata
    var spec: JobSpec

    struct Metadata: Encodable {
        var name: String?
        var labels: [String: String]?
        var annotations: [String: String]?
        var finalizers: [String]?
    }

    struct JobSpec: Encodable {
        var activeDeadlineSeconds: Int
        var backoffLimit: Int
        var ttlSecondsAfterFinished: Int
        var completionMode: String?
        var completions: Int?
        var parallelism: Int?
        var template: PodTemplate
    }

    struct PodTemplate: Encodable {
        var metadata: Metadata
        var spec: PodSpec
    }

    struct PodSpec: Encodable {
        var restartPolicy: String
        var automountServiceAccountToken: Bool
        var serviceAccountName: String?
        var securityContext: PodSecurityContext
        var imagePullSecrets: [NameReference]?
        var nodeSelector: [String: String]?
        var tolerations: [Toleration]?
        var containers: [Container]
        var volumes: [Volume]?
    }

    struct Volume: Encodable {
        var name: String
        var configMap: NameReference
    }

    struct VolumeMount: Encodable {
        var name: String
        var mountPath: String
        var readOnly: Bool
    }

    struct PodSecurityContext: Encodable {
        var runAsNonRoot: Bool?
        var seccompProfile: SeccompProfile
    }

    struct SeccompProfile: Encodable {
        var type: String
    }

    struct NameReference: Encodable {
        var name: String
    }

    struct Container: Encodable {
        var name: String
        var image: String
        var command: [String]?
        var args: [String]?
        var env: [EnvVar]?
        var resources: ResourceRequirements?
        var imagePullPolicy: String
        var terminationMessagePath: String
        var terminationMessagePolicy: String
        var volumeMounts: [VolumeMount]?
        var securityContext: ContainerSecurityContext
    }

    struct ResourceRequirements: Encodable {
        var requests: [String: String]?
        var limits: [String: String]?
    }

    struct ContainerSecurityContext: Encodable {
        var allowPrivilegeEscalation: Bool
        var capabilities: Capabilities
        var runAsNonRoot: Bool?
    }

    struct Capabilities: Encodable {
        var drop: [String]
    }

    struct EnvVar: Encodable {
        var name: String
        var value: String?
        var valueFrom: EnvVarSource?
    }

    struct EnvVarSource: Encodable {
        var secretKeyRef: SecretKeySelector?
        var fieldRef: FieldSelector?
    }

    struct FieldSelector: Encodable {
        var fieldPath: String
    }

    struct SecretKeySelector: Encodable {
        var name: String
        var key: String
    }
}

/// A fan-out's task ConfigMap.
struct ConfigMapManifest: Encodable {
    var apiVersion = "v1"
    var kind = "ConfigMap"
    var metadata: Metadata
    var data: [String: String]

    struct Metadata: Encodable {
        var name: String
        var labels: [String: String]
        var ownerReferences: [OwnerReference]
    }

    /// The Job as controller: the garbage collector deletes the ConfigMap with it.
    struct OwnerReference: Encodable {
        var apiVersion = "batch/v1"
        var kind = "Job"
        var name: String
        var uid: String
        var controller = true
    }
}

extension Dictionary {
    fileprivate var nilIfEmpty: Self? { isEmpty ? nil : self }
}
