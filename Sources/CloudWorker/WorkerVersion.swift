/// The worker's version, printed by `--version`; the chart's `appVersion` is checked against it.
enum WorkerVersion {
    static let current = "0.1.0"
}
