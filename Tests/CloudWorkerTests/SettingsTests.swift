import ArgumentParser
import Foundation
import Logging
import Testing

@testable import CloudWorker

/// The settings table is the one description of the worker's settings: the command's options,
/// the values read at start, their checks and the README's table all follow it.
@Suite struct SettingsTests {
    static let withFlags = Setting.all.filter { $0.flag != nil }

    @Test func everySettingWithAFlagIsAnOptionOfTheCommandAndNothingElseIs() throws {
        let arguments = Self.withFlags.flatMap { ["--\($0.flag!)", "value-of-\($0.flag!)"] }
        let command = try CloudWorkerCommand.parseAsRoot(arguments) as! CloudWorkerCommand
        let expected = Dictionary(uniqueKeysWithValues: Self.withFlags.map { ($0.flag!, "value-of-\($0.flag!)") })
        #expect(command.givenFlags == expected)
        let settingOptions = Mirror(reflecting: command).children.filter { $0.value is Option<String?> }
        #expect(settingOptions.count == Self.withFlags.count)
    }

    @Test func namesAreUniqueAndFollowOnePattern() {
        #expect(Set(Setting.all.map(\.variable)).count == Setting.all.count)
        #expect(Set(Self.withFlags.map(\.flag)).count == Self.withFlags.count)
        for setting in Self.withFlags where setting != .workerID {
            let variable = "CLOUD_WORKER_" + setting.flag!.uppercased().replacingOccurrences(of: "-", with: "_")
            #expect(setting.variable == variable)
        }
        #expect(Setting.all.allSatisfy { $0.standard != nil || $0.standardNote != nil })
    }

    @Test func everyDefaultIsAValueOfItsOwnKind() throws {
        let values = SettingValues(flags: [:], environment: [:])
        for setting in Setting.all {
            switch setting.kind {
            case .integer: _ = try values.integer(setting)
            case .boolean: _ = try values.boolean(setting)
            case .choice(let names): #expect(names.contains(values.text(setting)))
            case .pairs: _ = try values.pairs(setting)
            case .text, .list, .json: break
            }
        }
    }

    @Test func aFlagWinsOverTheEnvironmentWhichWinsOverTheDefault() throws {
        let environment = ["CLOUD_WORKER_PREFETCH": "8", "CLOUD_WORKER_REQUEST_QUEUE": ""]
        #expect(try SettingValues(flags: ["prefetch": "4"], environment: environment).integer(.prefetch) == 4)
        #expect(try SettingValues(flags: [:], environment: environment).integer(.prefetch) == 8)
        #expect(try SettingValues(flags: [:], environment: [:]).integer(.prefetch) == 32)
        // An empty variable is unset, as a chart renders a value left out.
        #expect(SettingValues(flags: [:], environment: environment).text(.requestQueue) == "cloud-worker.requests")
    }

    @Test func theConfigurationFromDefaultsIsTheTablesDefaults() throws {
        let environment = [
            "CLOUD_WORKER_KUBE_SERVER": "http://127.0.0.1:9", "CLOUD_WORKER_S3_ACCESS_KEY_ID": "key",
            "CLOUD_WORKER_S3_SECRET_ACCESS_KEY": "secret",
        ]
        let configuration = try WorkerConfiguration(SettingValues(flags: [:], environment: environment))
        #expect(configuration.amqp.prefetch == 32)
        #expect(configuration.amqp.heartbeat == 30)
        #expect(configuration.amqp.topology.requestRoutingKey == "cloud-worker.requests")
        #expect(configuration.s3.region == "us-east-1")
        #expect(configuration.jobS3Endpoint == "https://s3.amazonaws.com")
        #expect(configuration.requests.limits.maxRequestBytes == 1_048_576)
        #expect(configuration.requests.resources.maximums.count == 4)
        #expect(configuration.cancelScope == .producer)
        #expect(configuration.claimTimeoutSeconds == 60)
        #expect(configuration.shutdownGraceSeconds == 25)
        #expect(configuration.httpPort == 8080)
        #expect(configuration.kubernetes.namespace == "default")
    }

    @Test func withoutS3KeysTheWorkerDoesNotStart() {
        let values = SettingValues(flags: [:], environment: ["CLOUD_WORKER_KUBE_SERVER": "http://127.0.0.1:9"])
        #expect(throws: ValidationError.self) { try WorkerConfiguration(values) }
    }

    @Test(arguments: [
        ("CLOUD_WORKER_LOG_FORMAT", "JSON", "CLOUD_WORKER_LOG_FORMAT (--log-format) must be one of text, json, not 'JSON'"),
        (
            "CLOUD_WORKER_LOG_LEVEL", "warn",
            "CLOUD_WORKER_LOG_LEVEL (--log-level) must be one of trace, debug, info, notice, warning, error, critical, not 'warn'"
        ),
        ("CLOUD_WORKER_CANCEL_SCOPE", "all", "CLOUD_WORKER_CANCEL_SCOPE (--cancel-scope) must be one of producer, any, not 'all'"),
        ("CLOUD_WORKER_PREFETCH", "many", "CLOUD_WORKER_PREFETCH (--prefetch) must be an integer, not 'many'"),
        ("CLOUD_WORKER_PREFETCH", "0", "CLOUD_WORKER_PREFETCH (--prefetch) must be from 1 to 65535, not 0"),
        ("CLOUD_WORKER_HTTP_PORT", "70000", "CLOUD_WORKER_HTTP_PORT (--http-port) must be from 0 to 65535, not 70000"),
        ("CLOUD_WORKER_MAX_DELIVERIES", "0", "CLOUD_WORKER_MAX_DELIVERIES (--max-deliveries) must be at least 1, not 0"),
        ("CLOUD_WORKER_S3_PATH_STYLE", "maybe", "CLOUD_WORKER_S3_PATH_STYLE (--s3-path-style) must be true or false, not 'maybe'"),
        ("CLOUD_WORKER_NODE_SELECTOR", "pool", "CLOUD_WORKER_NODE_SELECTOR (--node-selector): 'pool' is not key=value"),
        ("CLOUD_WORKER_MAX_RESOURCES", "cpu=lots", "CLOUD_WORKER_MAX_RESOURCES (--max-resources): 'lots' is not a Kubernetes quantity"),
    ])
    func aBadValueStopsTheStartNamingTheSettingAndWhatItTakes(variable: String, value: String, message: String) {
        let environment = [
            "CLOUD_WORKER_KUBE_SERVER": "http://127.0.0.1:9", "CLOUD_WORKER_S3_ACCESS_KEY_ID": "key",
            "CLOUD_WORKER_S3_SECRET_ACCESS_KEY": "secret", variable: value,
        ]
        let values = SettingValues(flags: [:], environment: environment)
        let error = #expect(throws: ValidationError.self) {
            _ = try values.choice(.logFormat, as: LogFormat.self)
            _ = try values.choice(.logLevel, as: Logger.Level.self)
            _ = try WorkerConfiguration(values)
        }
        #expect(error?.message == message)
    }

    @Test func theReadmeTableIsTheSettingsTable() throws {
        let readme = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../README.md"),
            encoding: .utf8)
        let start = "<!-- settings: cloud-worker --print-settings markdown -->\n"
        let end = "\n<!-- end of settings -->"
        let table = try #require(
            readme.range(of: start).flatMap { from in
                readme.range(of: end, range: from.upperBound..<readme.endIndex).map { from.upperBound..<$0.lowerBound }
            })
        #expect(
            String(readme[table]) == SettingsDocument.markdown(Setting.all), "regenerate it with `cloud-worker --print-settings markdown`")
    }

    @Test func theHelpOfAnOptionGivesItsVariableAndDefault() {
        let help = CloudWorkerCommand.helpMessage(columns: 1000)
        #expect(help.contains("--prefetch <n>"))
        #expect(help.contains("Deliveries handled at once (requests in flight) (env CLOUD_WORKER_PREFETCH; default: 32)."))
        #expect(help.contains("--log-format <text|json>"))
    }
}
