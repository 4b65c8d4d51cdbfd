import Backoff
import Foundation
import HTTPTransport
import Logging
import Metrics

/// A small Kubernetes REST client for the calls the worker makes, retrying connection
/// failures, 5xx and 429 (honouring `Retry-After`) and nothing else.
public final class KubernetesClient: Sendable {
    public let configuration: KubernetesConfiguration
    private let http: HTTPClient
    private let tokens: TokenSource
    private let logger: Logger

    /// Every API call this client makes, as RBAC names it; keep it beside the methods below.
    public static let apiCalls: [(group: String, resource: String, verb: String)] = [
        ("batch", "jobs", "create"), ("batch", "jobs", "get"), ("batch", "jobs", "list"), ("batch", "jobs", "watch"),
        ("batch", "jobs", "patch"), ("batch", "jobs", "delete"),
        ("", "pods", "list"), ("", "pods", "watch"), ("", "pods/log", "get"), ("", "configmaps", "create"),
    ]

    public init(configuration: KubernetesConfiguration, logger: Logger) {
        self.configuration = configuration
        self.http = HTTPClient(tls: configuration.tls)
        self.tokens = TokenSource(token: configuration.token, file: configuration.tokenFile)
        self.logger = logger
    }

    var namespace: String { configuration.namespace }
    private var jobsPath: String { "/apis/batch/v1/namespaces/\(namespace)/jobs" }

    // MARK: - Jobs

    /// Creates a Job from its JSON manifest. Strict field validation makes the API server refuse
    /// (400) a manifest with a field its schema does not know, instead of dropping it silently.
    public func createJob(_ manifest: [UInt8]) async throws -> Job {
        try decode(
            try await call("POST", jobsPath, query: [("fieldValidation", "Strict")], body: manifest, operation: "create job"))
    }

    public func getJob(_ name: String) async throws -> Job {
        try decode(try await call("GET", "\(jobsPath)/\(name)", operation: "get job \(name)"))
    }

    /// Applies a JSON merge patch; with `resourceVersion`, only if the Job is still at that
    /// version (409 Conflict otherwise).
    public func patchJob(_ name: String, _ patch: JobPatch, resourceVersion: String?) async throws -> Job {
        try decode(
            try await call(
                "PATCH", "\(jobsPath)/\(name)", body: patch.mergePatch(resourceVersion: resourceVersion),
                contentType: "application/merge-patch+json", operation: "patch job \(name)"))
    }

    /// Deletes a Job and, in the background, its pods (without a policy batch/v1 orphans them).
    public func deleteJob(_ name: String) async throws {
        let body = Array(#"{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"}"#.utf8)
        _ = try await call("DELETE", "\(jobsPath)/\(name)", body: body, operation: "delete job \(name)")
    }

    /// Waits on a watch of this one Job, from the version given, until it is deleted or its
    /// name holds another Job (true), or until `timeoutSeconds` pass (false): no polling, and no
    /// deletion missed, since the watch replays what happened after that version.
    public func untilDeleted(_ job: Job, timeoutSeconds: Int) async throws -> Bool {
        guard let version = job.metadata.resourceVersion else { return try await isGone(job) }
        let stream = try await watch(
            Job.self, fieldSelector: "metadata.name=\(job.name)", resourceVersion: version, timeoutSeconds: timeoutSeconds)
        defer { stream.cancel() }
        var lines = LineSplitter()
        while let chunk = try await stream.next() {
            for line in lines.append(chunk) {
                switch try WatchLine<Job>(line) {
                case .change(let object, let deleted) where deleted || object.metadata.uid != job.metadata.uid:
                    return true
                case .error(let code, _, _) where code == 410:
                    return try await isGone(job)  // the version is too old to watch from
                case .error(let code, let reason, let message):
                    throw KubernetesError.watch(Job.self, code: code, reason: reason, message: message)
                case .change, .bookmark:
                    continue
                }
            }
        }
        return try await isGone(job)
    }

    private func isGone(_ job: Job) async throws -> Bool {
        do {
            return try await getJob(job.name).metadata.uid != job.metadata.uid
        } catch let error as KubernetesError where error.status == 404 {
            return true
        }
    }

    /// Creates a ConfigMap from its JSON manifest (a fan-out's task arguments).
    public func createConfigMap(_ manifest: [UInt8]) async throws {
        _ = try await call(
            "POST", "/api/v1/namespaces/\(namespace)/configmaps", query: [("fieldValidation", "Strict")], body: manifest,
            operation: "create configmap")
    }

    // MARK: - Lists and watches

    private func collectionPath<Object: KubernetesObject>(_ kind: Object.Type) -> String {
        "\(Object.apiPrefix)/namespaces/\(namespace)/\(Object.resource)"
    }

    public func list<Object: KubernetesObject>(_ kind: Object.Type, labelSelector: String) async throws -> ObjectList<Object> {
        try decode(
            try await call("GET", collectionPath(kind), query: [("labelSelector", labelSelector)], operation: "list \(Object.resource)"))
    }

    /// Opens a watch from `resourceVersion` of the objects the selectors choose; the caller
    /// reads newline-delimited events.
    public func watch<Object: KubernetesObject>(
        _ kind: Object.Type, labelSelector: String? = nil, fieldSelector: String? = nil, resourceVersion: String, timeoutSeconds: Int
    ) async throws -> HTTPStream {
        let selectors = [("labelSelector", labelSelector), ("fieldSelector", fieldSelector)].compactMap { name, value in
            value.map { (name, $0) }
        }
        let query =
            [("watch", "1")] + selectors + [
                ("resourceVersion", resourceVersion), ("allowWatchBookmarks", "true"), ("timeoutSeconds", "\(timeoutSeconds)"),
            ]
        let request = makeRequest("GET", collectionPath(kind), query: query, body: [], contentType: nil, timeout: 0)
        return try await openStream(request, operation: "watch \(Object.resource)")
    }

    // MARK: - Pods

    /// Streams a pod's log. The caller reads the body and cancels the stream if it stops early.
    public func streamLog(pod: String, follow: Bool, sinceTime: String?, timestamps: Bool) async throws -> HTTPStream {
        var query: [(String, String)] = []
        if follow { query.append(("follow", "true")) }
        if timestamps { query.append(("timestamps", "true")) }
        if let sinceTime { query.append(("sinceTime", sinceTime)) }
        let request = makeRequest(
            "GET", "/api/v1/namespaces/\(namespace)/pods/\(pod)/log", query: query, body: [], contentType: nil, timeout: 0)
        return try await openStream(request, operation: "read log of pod \(pod)")
    }

    // MARK: - Plumbing

    /// Opens a streamed response (a watch, a followed log), retrying as `call` does.
    private func openStream(_ request: @autoclosure () -> HTTPRequest, operation: String) async throws -> HTTPStream {
        var retry = configuration.retry.start()
        while true {
            Counter(label: "cloud_worker_kubernetes_requests_total", dimensions: [("verb", "STREAM")]).increment()
            let failure: KubernetesError
            var retryAfter: Double?
            do {
                let stream = try await http.stream(request())
                if (200..<300).contains(stream.status) { return stream }
                retryAfter = stream.headers["Retry-After"].flatMap(Double.init)
                failure = Self.error(status: stream.status, body: try await stream.collect(), operation: operation)
            } catch let error as HTTPError {
                failure = KubernetesError.transport(error, operation: operation)
            }
            try await backoff(failure, retryAfter: retryAfter, &retry)
        }
    }

    private func call(
        _ method: String,
        _ path: String,
        query: [(String, String)] = [],
        body: [UInt8] = [],
        contentType: String = "application/json",
        operation: String
    ) async throws -> [UInt8] {
        var retry = configuration.retry.start()
        while true {
            let request = makeRequest(method, path, query: query, body: body, contentType: body.isEmpty ? nil : contentType, timeout: 30)
            Counter(label: "cloud_worker_kubernetes_requests_total", dimensions: [("verb", method)]).increment()
            let failure: KubernetesError
            var retryAfter: Double?
            do {
                let response = try await http.send(request)
                if (200..<300).contains(response.status) { return response.body }
                failure = Self.error(status: response.status, body: response.body, operation: operation)
                retryAfter = response.headers["Retry-After"].flatMap(Double.init)
            } catch let error as HTTPError {
                failure = KubernetesError.transport(error, operation: operation)
            }
            try await backoff(failure, retryAfter: retryAfter, &retry)
        }
    }

    /// Waits before the next attempt, or throws `failure` when it cannot pass or patience is spent.
    private func backoff(_ failure: KubernetesError, retryAfter: Double?, _ retry: inout Retry) async throws {
        guard failure.isRetryable else { throw failure }
        Counter(label: "cloud_worker_kubernetes_retries_total").increment()
        logger.debug("Kubernetes call failed, retrying", metadata: ["error": "\(failure)", "attempt": "\(retry.failures + 1)"])
        try await retry.backoff(after: failure, requested: retryAfter)
    }

    private func makeRequest(
        _ method: String, _ path: String, query: [(String, String)], body: [UInt8], contentType: String?, timeout: Double
    ) -> HTTPRequest {
        var headers: [(name: String, value: String)] = [("Accept", "application/json"), ("User-Agent", "cloud-worker")]
        if let contentType { headers.append(("Content-Type", contentType)) }
        if let token = tokens.current() { headers.append(("Authorization", "Bearer \(token)")) }
        let queryString = query.map { "\($0.0)=\(PercentEncoding.encode($0.1))" }.joined(separator: "&")
        let url = configuration.server + path + (queryString.isEmpty ? "" : "?\(queryString)")
        return HTTPRequest(method: method, url: url, headers: headers, body: body, totalTimeout: timeout)
    }

    static func error(status: Int, body: [UInt8], operation: String) -> KubernetesError {
        let object = try? JSONScanner.scan(body) { try StatusObject(scanning: &$0) }
        let fallbackReason = status == 401 ? "Unauthorized" : status == 403 ? "Forbidden" : "HTTP\(status)"
        return KubernetesError(
            status: status,
            reason: object?.reason ?? fallbackReason,
            message: object?.message ?? String(decoding: body.prefix(200), as: UTF8.self),
            causes: object?.details?.causes?.map { ($0.field.map { "\($0): " } ?? "") + ($0.message ?? $0.reason ?? "") } ?? [],
            operation: operation
        )
    }

    private func decode<T: JSONScannable>(_ body: [UInt8]) throws -> T {
        try JSONScanner.scan(body) { try T(scanning: &$0) }
    }
}
