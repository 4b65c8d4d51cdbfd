import Foundation
import JobRunner
import Prometheus
import QueueConsumer

/// What the status server answers: probes, Prometheus metrics, the jobs API and pages. The probes
/// and metrics stay open for kubelets and scrapers; the jobs API and page, which list request
/// ids and job names, require `token` as a bearer token when one is configured.
struct StatusRoutes: Sendable {
    let amqp: AMQPClient
    let watcher: ResourceWatcher<Job>
    let directory: JobDirectory
    let registry: PrometheusCollectorRegistry
    let heap: HeapGauge
    let token: String?

    func respond(to request: StatusServer.Request) async -> StatusServer.Response {
        let open: Set<String> = ["/healthz", "/readyz", "/metrics"]
        guard open.contains(request.path) || BearerToken.accepts(request.authorization, expected: token) else {
            var response = StatusServer.Response.text(401, "a bearer token is required: Authorization: Bearer <token>\n")
            response.headers["WWW-Authenticate"] = #"Bearer realm="cloud-worker""#
            return response
        }
        switch request.path {
        case "/healthz":
            return .text(200, "ok\n")
        case "/readyz":
            var problems: [String] = []
            if !amqp.isConnected { problems.append("broker not connected") }
            if !watcher.isConnected { problems.append("API server not reachable") }
            return problems.isEmpty ? .text(200, "ready\n") : .text(503, problems.joined(separator: "; ") + "\n")
        case "/metrics":
            heap.update()
            return StatusServer.Response(
                status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: registry.emitToBuffer())
        case "/api/jobs":
            // ?state=, ?name= as the page's filters; ?limit=N for the newest N Jobs only.
            let state = request.parameter("state")
            let name = request.parameter("name")
            let jobs = await directory.jobs(state: state, name: name)
            // Finished Jobs stay for the retention: a page asks for the newest only.
            let limit = request.parameter("limit").flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil } ?? jobs.count
            return json(
                JobList(jobs: Array(jobs.prefix(limit)), total: jobs.count, rejected: directory.rejected(state: state, name: name)))
        case "/":
            let state = request.parameter("state")
            let name = request.parameter("name")
            let html = StatusPages.list(
                jobs: await directory.jobs(state: state, name: name), rejected: directory.rejected(state: state, name: name),
                state: state, name: name,
                health: "Broker: \(amqp.isConnected ? "connected" : "disconnected") · API server: "
                    + (watcher.isConnected ? "reachable" : "unreachable"))
            return StatusServer.Response(status: 200, contentType: "text/html; charset=utf-8", body: Array(html.utf8))
        case let path where path.hasPrefix("/api/jobs/"):
            guard let detail = await directory.detail(String(path.dropFirst("/api/jobs/".count))) else { return notFound(path) }
            return json(detail)
        case let path where path.hasPrefix("/jobs/"):
            guard let detail = await directory.detail(String(path.dropFirst("/jobs/".count))) else { return notFound(path) }
            let reply = detail.reply.map { String(decoding: $0.json, as: UTF8.self) } ?? "not yet: the Job runs"
            return StatusServer.Response(
                status: 200, contentType: "text/html; charset=utf-8", body: Array(StatusPages.detail(detail, replyJSON: reply).utf8))
        default:
            return .text(404, "not found: try /healthz, /readyz, /metrics, /api/jobs or /\n")
        }
    }

    /// The jobs API: the Jobs of the cache, running and finished (the same on every replica),
    /// and the requests this replica rejected, which never had a Job.
    private struct JobList: Encodable {
        /// Newest first, the first `limit` if one is given.
        var jobs: [JobView]
        /// How many Jobs pass the filters, beyond the limit included.
        var total: Int
        var rejected: [RejectedRequests.Entry]
    }

    private func json(_ value: some Encodable) -> StatusServer.Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(value)) ?? Data()
        return StatusServer.Response(status: 200, contentType: "application/json", body: [UInt8](body))
    }

    private func notFound(_ path: String) -> StatusServer.Response {
        .text(404, "no such Job in the cache: \(path)\n")
    }
}
