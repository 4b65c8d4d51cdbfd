import Foundation

/// Turns a `JobSpecification` into the `batch/v1` Job JSON sent to the API server, with the
/// hardened pod defaults: no service-account token, no privilege escalation, no capabilities,
/// the runtime's default seccomp profile.
public enum JobManifest {
    public static let containerName = "job"

    public static func json(_ spec: JobSpecification) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return [UInt8](try encoder.encode(manifest(spec)))
    }

    static func manifest(_ spec: JobSpecification) -> Manifest {
        let env = spec.env.map { variable -> Manifest.EnvVar in
            switch variable.source {
            case .value(let value): Manifest.EnvVar(name: variable.name, value: value)
            case .secretKey(let secret, let key):
                Manifest.EnvVar(name: variable.name, valueFrom: .init(secretKeyRef: .init(name: secret, key: key)))
            }
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
            containers: [container]
        )
        return Manifest(
            metadata: .init(name: spec.name, labels: spec.labels, annotations: spec.annotations),
            spec: .init(
                activeDeadlineSeconds: spec.activeDeadlineSeconds,
                backoffLimit: spec.backoffLimit,
                ttlSecondsAfterFinished: spec.ttlSecondsAfterFinished,
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
    }

    struct JobSpec: Encodable {
        var activeDeadlineSeconds: Int
        var backoffLimit: Int
        var ttlSecondsAfterFinished: Int
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
        var secretKeyRef: SecretKeySelector
    }

    struct SecretKeySelector: Encodable {
        var name: String
        var key: String
    }
}

extension Dictionary {
    fileprivate var nilIfEmpty: Self? { isEmpty ? nil : self }
}
