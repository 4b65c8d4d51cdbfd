import ArgumentParser
import Foundation
import HTTPTransport
import JobRunner
import Logging
import ObjectStore
import QueueConsumer
import RequestValidation

/// The `cloud-worker` command. Each option is a `Setting` of `Setting.all`, named after its flag
/// there; it can also be set by the setting's environment variable. A flag wins over the
/// environment, which wins over the default.
@main
struct CloudWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cloud-worker",
        abstract: "Turns RabbitMQ requests into Kubernetes Jobs, archives their logs to S3 and replies.",
        discussion: """
            Secrets come only from the environment: the worker's S3 keys, CLOUD_WORKER_S3_ACCESS_KEY_ID and \
            CLOUD_WORKER_S3_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), and the bearer \
            token the jobs API and page then require, CLOUD_WORKER_STATUS_TOKEN. `--print-settings markdown` lists \
            every setting.
            """,
        version: WorkerVersion.current
    )

    @Option(help: .setting(.amqpURL)) var amqpUrl: String?
    @Option(help: .setting(.requestExchange)) var requestExchange: String?
    @Option(help: .setting(.requestQueue)) var requestQueue: String?
    @Option(help: .setting(.requestRoutingKey)) var requestRoutingKey: String?
    @Option(help: .setting(.deadLetterQueue)) var deadLetterQueue: String?
    @Option(help: .setting(.replyQueue)) var replyQueue: String?
    @Option(help: .setting(.prefetch)) var prefetch: String?
    @Option(help: .setting(.amqpHeartbeat)) var amqpHeartbeat: String?
    @Option(help: .setting(.amqpCAFile)) var amqpCaFile: String?

    @Option(help: .setting(.kubeconfig)) var kubeconfig: String?
    @Option(help: .setting(.kubeContext)) var kubeContext: String?
    @Option(help: .setting(.kubeServer)) var kubeServer: String?
    @Option(help: .setting(.kubeTokenFile)) var kubeTokenFile: String?
    @Option(help: .setting(.kubeCAFile)) var kubeCaFile: String?
    @Option(help: .setting(.namespace)) var namespace: String?

    @Option(help: .setting(.s3Endpoint)) var s3Endpoint: String?
    @Option(help: .setting(.s3Region)) var s3Region: String?
    @Option(help: .setting(.s3PathStyle)) var s3PathStyle: String?
    @Option(help: .setting(.s3CAFile)) var s3CaFile: String?
    @Option(help: .setting(.jobS3Endpoint)) var jobS3Endpoint: String?
    @Option(help: .setting(.s3CredentialsSecret)) var s3CredentialsSecret: String?
    @Option(help: .setting(.bucketCredentials)) var bucketCredentials: String?
    @Option(help: .setting(.allowedBuckets)) var allowedBuckets: String?
    @Option(help: .setting(.logKeyTemplate)) var logKeyTemplate: String?

    @Option(help: .setting(.defaultTimeoutMinutes)) var defaultTimeoutMinutes: String?
    @Option(help: .setting(.maxTimeoutMinutes)) var maxTimeoutMinutes: String?
    @Option(help: .setting(.maxParallelism)) var maxParallelism: String?
    @Option(help: .setting(.allowedImagePrefixes)) var allowedImagePrefixes: String?
    @Option(help: .setting(.requireImageDigest)) var requireImageDigest: String?
    @Option(help: .setting(.maxResources)) var maxResources: String?
    @Option(help: .setting(.defaultResourceRequests)) var defaultResourceRequests: String?
    @Option(help: .setting(.defaultResourceLimits)) var defaultResourceLimits: String?
    @Option(help: .setting(.maxRequestBytes)) var maxRequestBytes: String?
    @Option(help: .setting(.maxJSONDepth)) var maxJsonDepth: String?
    @Option(help: .setting(.maxEnvEntries)) var maxEnvEntries: String?
    @Option(help: .setting(.maxTasks)) var maxTasks: String?
    @Option(help: .setting(.maxDeliveries)) var maxDeliveries: String?
    @Option(help: .setting(.cancelScope)) var cancelScope: String?

    @Option(help: .setting(.jobTTLSeconds)) var jobTtlSeconds: String?
    @Option(help: .setting(.finishedJobRetentionSeconds)) var finishedJobRetentionSeconds: String?
    @Option(help: .setting(.stuckPodGraceSeconds)) var stuckPodGraceSeconds: String?
    @Option(help: .setting(.workerID)) var workerId: String?
    @Option(help: .setting(.claimTimeoutSeconds)) var claimTimeoutSeconds: String?
    @Option(help: .setting(.archivePatienceSeconds)) var archivePatienceSeconds: String?
    @Option(help: .setting(.shutdownGraceSeconds)) var shutdownGraceSeconds: String?
    @Option(help: .setting(.imagePullSecrets)) var imagePullSecrets: String?
    @Option(help: .setting(.runAsNonRoot)) var runAsNonRoot: String?
    @Option(help: .setting(.nodeSelector)) var nodeSelector: String?
    @Option(help: .setting(.tolerations)) var tolerations: String?

    @Option(help: .setting(.httpPort)) var httpPort: String?
    @Option(help: .setting(.httpHost)) var httpHost: String?
    @Option(help: .setting(.logFormat)) var logFormat: String?
    @Option(help: .setting(.logLevel)) var logLevel: String?

    @Flag(help: "Print the Kubernetes RBAC rules the worker needs (JSON, from its list of API calls) and exit.")
    var printRbacRules = false
    @Option(help: "Print every setting (flag, environment variable, default, help) as markdown or json and exit.")
    var printSettings: SettingsDocument.Format?

    func run() async throws {
        if printRbacRules {
            print(RBACRules.json)
            return
        }
        if let printSettings {
            print(SettingsDocument.render(Setting.all, as: printSettings))
            return
        }
        let values = SettingValues(flags: givenFlags, environment: ProcessInfo.processInfo.environment)
        let format: LogFormat
        let level: Logger.Level
        do {
            format = try values.choice(.logFormat, as: LogFormat.self)
            level = try values.choice(.logLevel, as: Logger.Level.self)
        } catch {
            // Before the log exists: said on stderr, as the log would have said it.
            FileHandle.standardError.write(Data("invalid configuration: \(error)\n".utf8))
            throw ExitCode(2)
        }
        LoggingSystem.bootstrap { label in
            var handler = WorkerLogHandler(label: label, format: format)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "cloud-worker")
        let configuration: WorkerConfiguration
        do {
            configuration = try WorkerConfiguration(values)
        } catch {
            logger.critical("invalid configuration", metadata: ["error": "\(error)"])
            throw ExitCode(2)
        }
        try await Worker(configuration: configuration, logger: logger).run()
    }

    /// The setting flags given, by name: read off the options, whose property names are the
    /// settings' flags in camel case.
    var givenFlags: [String: String] {
        var flags: [String: String] = [:]
        for child in Mirror(reflecting: self).children {
            guard let label = child.label, let option = child.value as? Option<String?>, let value = option.wrappedValue else { continue }
            flags[Self.flagName(property: label)] = value
        }
        return flags
    }

    /// `_amqpCaFile` → `amqp-ca-file`, as ArgumentParser names the option.
    static func flagName(property: String) -> String {
        property.drop { $0 == "_" }.reduce(into: "") { name, character in
            if character.isUppercase {
                name += "-" + character.lowercased()
            } else {
                name.append(character)
            }
        }
    }
}

extension ArgumentHelp {
    /// The help of a setting's option: what it means, its variable and its default.
    static func setting(_ setting: Setting) -> ArgumentHelp {
        var text = "\(setting.help.hasSuffix(".") ? String(setting.help.dropLast()) : setting.help) (env \(setting.variable)"
        if let standard = setting.standardText { text += "; default: \(standard)" }
        return ArgumentHelp(text + ").", valueName: setting.valueName)
    }
}
