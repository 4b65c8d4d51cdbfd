import Foundation
import JobRunner
import Prometheus
import QueueConsumer

/// What the status server answers: probes, Prometheus metrics, the jobs API and page. The probes
/// and metrics stay open for kubelets and scrapers; the jobs API and page, which list request
/// ids and job names, require `token` as a bearer token when one is configured.
struct StatusRoutes: Sendable {
    let amqp: AMQPClient
    let watcher: ResourceWatcher<Job>
    let board: JobBoard
    let registry: PrometheusCollectorRegistry
    let token: String?

    func respond(to request: StatusServer.Request) -> StatusServer.Response {
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
            return StatusServer.Response(
                status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: registry.emitToBuffer())
        case "/api/jobs":
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let body = (try? encoder.encode(["jobs": board.recent()])) ?? Data()
            return StatusServer.Response(status: 200, contentType: "application/json", body: [UInt8](body))
        case "/":
            return StatusServer.Response(status: 200, contentType: "text/html; charset=utf-8", body: Array(page().utf8))
        default:
            return .text(404, "not found: try /healthz, /readyz, /metrics, /api/jobs or /\n")
        }
    }

    private func page() -> String {
        let rows = board.recent().prefix(200).map { entry in
            "<tr><td>\(escape(entry.updatedAt))</td><td>\(escape(entry.jobName ?? ""))</td><td>\(escape(entry.k8sJob ?? ""))</td>"
                + "<td class=\"\(escape(entry.state))\">\(escape(entry.state))</td><td>\(escape(entry.reason ?? ""))</td>"
                + "<td>\(escape(entry.requestId))</td></tr>"
        }.joined(separator: "\n")
        return """
            <!doctype html><html><head><meta charset="utf-8"><title>Cloud Worker</title>
            <meta http-equiv="refresh" content="5">
            <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}
            .succeeded{color:#080}.failed,.error,.timedOut,.rejected{color:#b00}.cancelled{color:#888}</style></head>
            <body><h1>Cloud Worker</h1><p>Broker: \(amqp.isConnected ? "connected" : "disconnected") ·
            API server: \(watcher.isConnected ? "reachable" : "unreachable") · <a href="/api/jobs">JSON</a> · <a href="/metrics">metrics</a></p>
            <table><tr><th>updated</th><th>job name</th><th>Kubernetes Job</th><th>state</th><th>reason</th><th>request</th></tr>
            \(rows)
            </table></body></html>
            """
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
