import Logging
import Testing

@testable import CloudWorker

@Suite struct SettingsTests {
    @Test func anEnumeratedSettingTakesOnlyItsNames() throws {
        let settings = Settings(environment: ["CLOUD_WORKER_LOG_FORMAT": "json"])
        #expect(try settings.choice(nil, "CLOUD_WORKER_LOG_FORMAT", LogFormat.text) == .json)
        #expect(try settings.choice("text", "CLOUD_WORKER_LOG_FORMAT", LogFormat.text) == .text)
        #expect(try settings.choice(nil, "CLOUD_WORKER_LOG_LEVEL", Logger.Level.info) == .info)
        #expect(try settings.choice("warning", "CLOUD_WORKER_LOG_LEVEL", Logger.Level.info) == .warning)
    }

    @Test(arguments: [
        ("CLOUD_WORKER_LOG_FORMAT", "JSON", "CLOUD_WORKER_LOG_FORMAT (--log-format) must be one of text, json, not 'JSON'"),
        (
            "CLOUD_WORKER_LOG_LEVEL", "warn",
            "CLOUD_WORKER_LOG_LEVEL (--log-level) must be one of trace, debug, info, notice, warning, error, critical, not 'warn'"
        ),
        ("CLOUD_WORKER_CANCEL_SCOPE", "all", "CLOUD_WORKER_CANCEL_SCOPE (--cancel-scope) must be one of producer, any, not 'all'"),
    ])
    func aBadValueIsRefusedWithTheNames(variable: String, value: String, message: String) {
        let settings = Settings(environment: [variable: value])
        let error = #expect(throws: (any Error).self) {
            switch variable {
            case "CLOUD_WORKER_LOG_FORMAT": _ = try settings.choice(nil, variable, LogFormat.text)
            case "CLOUD_WORKER_LOG_LEVEL": _ = try settings.choice(nil, variable, Logger.Level.info)
            default: _ = try settings.choice(nil, variable, CancelRequest.Scope.producer)
            }
        }
        #expect("\(error.map { "\($0)" } ?? "")" == message)
    }
}
