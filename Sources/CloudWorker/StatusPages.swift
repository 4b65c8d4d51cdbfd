import Foundation

/// The HTML of the jobs page and of a Job's detail page. Every value from a request or the API
/// server is escaped here, and the scripts fill cells with `textContent`, never markup. Both pages
/// refresh themselves from the JSON API with `fetch` every two seconds, without a reload.
enum StatusPages {
    static let states = ["pending", "running", "succeeded", "failed", "timedOut", "cancelled", "error"]
    /// The most Jobs the list page shows: finished Jobs stay for the retention, and a busy
    /// deployment has thousands; the filters find the others.
    static let listLimit = 500

    /// The jobs of the cache, running and finished, and the requests this replica rejected; the
    /// script refreshes both tables from `/api/jobs`.
    static func list(jobs: [JobView], rejected: [RejectedRequests.Entry], state: String?, name: String?, health: String) -> String {
        let options = ([""] + states).map { value in
            "<option value=\"\(escape(value))\"\(value == (state ?? "") ? " selected" : "")>\(value.isEmpty ? "any state" : value)</option>"
        }.joined()
        let shown = jobs.prefix(listLimit)
        let rejectedRows = rejected.prefix(100).map { entry in
            row([entry.updatedAt, entry.jobName ?? "", entry.reason, entry.requestId])
        }.joined(separator: "\n")
        return page(
            title: "Cloud Worker",
            body: """
                <h1>Cloud Worker</h1><p>\(escape(health)) · <a href="/api/jobs">JSON</a> · <a href="/metrics">metrics</a></p>
                <form method="get" action="/"><label>state <select name="state">\(options)</select></label>
                <label>name <input name="name" value="\(escape(name ?? ""))" placeholder="job name, Job or request id"></label>
                <button>filter</button></form>
                <p class="live">updated <span id="updated">\(escape(Date().formatted(.iso8601)))</span></p>
                <h2>Jobs</h2><p>Running and finished, the same on every replica; a finished Job stays listed, with its reply,
                until its retention after the reply ends. <span id="shown">\(escape(shownText(shown.count, of: jobs.count)))</span></p>
                <table><thead><tr><th>created</th><th>job name</th><th>Kubernetes Job</th><th>state</th><th>reason</th>
                <th>exit code</th><th>duration</th><th>request</th></tr></thead>
                <tbody id="jobs">\(shown.map(jobRow).joined(separator: "\n"))</tbody></table>
                <h2>Rejected by this replica</h2><p>Requests this replica rejected: they never had a Job, so other replicas
                do not list them.</p>
                <table><thead><tr><th>rejected</th><th>job name</th><th>reason</th><th>request</th></tr>
                </thead><tbody id="rejected">\(rejectedRows)</tbody></table>
                <script>
                function cells(values) {
                  const tr = document.createElement('tr');
                  for (const value of values) {
                    const td = document.createElement('td');
                    if (value instanceof Node) td.appendChild(value); else td.textContent = value == null ? '' : String(value);
                    tr.appendChild(td);
                  }
                  return tr;
                }
                async function refresh() {
                  const query = new URLSearchParams(location.search);
                  query.set('limit', '\(listLimit)');
                  const response = await fetch('/api/jobs?' + query);
                  if (!response.ok) return;
                  const body = await response.json();
                  const rows = body.jobs.map(job => {
                    const link = document.createElement('a');
                    link.href = '/jobs/' + encodeURIComponent(job.k8sJob);
                    link.textContent = job.k8sJob;
                    const tr = cells([job.createdAt, job.jobName, link, job.state, job.reason, job.exitCode,
                      job.durationMs == null ? '' : (job.durationMs / 1000).toFixed(1) + ' s', job.requestId]);
                    tr.children[3].className = job.state;
                    return tr;
                  });
                  document.getElementById('jobs').replaceChildren(...rows);
                  document.getElementById('shown').textContent = rows.length < body.total
                    ? `The newest ${rows.length} of ${body.total}: filter to see the others.` : `${body.total} Job${body.total == 1 ? '' : 's'}.`;
                  const rejected = body.rejected.slice(0, 100).map(entry =>
                    cells([entry.updatedAt, entry.jobName, entry.reason, entry.requestId]));
                  document.getElementById('rejected').replaceChildren(...rejected);
                  document.getElementById('updated').textContent = new Date().toISOString();
                }
                setInterval(refresh, 2000);
                </script>
                """)
    }

    static func detail(_ detail: JobDirectory.Detail, replyJSON: String) -> String {
        let job = detail.job
        let fields = detail.request.sorted { $0.key < $1.key }.map { row([String($0.key.dropFirst("cloud-worker.io/".count)), $0.value]) }
        let summary = [
            ("state", job.state), ("reason", job.reason ?? ""), ("exit code", job.exitCode.map(String.init) ?? ""),
            ("created", job.createdAt ?? ""), ("started", job.startedAt ?? ""), ("completed", job.completedAt ?? ""),
            ("duration", seconds(job.durationMs)), ("reply sent", job.reported ? "yes" : "no"),
        ].map { "<tr><th>\(escape($0.0))</th><td data-field=\"\(escape($0.0))\">\(escape($0.1))</td></tr>" }
        let pods = job.pods.map { pod in
            let link = detail.logs.first { $0.pod == pod.name }.map { "<a class=\"log\" href=\"\(escape($0.url))\">\(escape($0.key))</a>" }
            return "<tr>"
                + [pod.name, pod.phase ?? "", pod.exitCode.map(String.init) ?? "", pod.reason ?? "", pod.startedAt ?? ""]
                .map { "<td>\(escape($0))</td>" }.joined() + "<td>\(escape(seconds(pod.durationMs)))</td><td>\(link ?? "")</td></tr>"
        }
        return page(
            title: "\(job.k8sJob) · Cloud Worker",
            body: """
                <p><a href="/">all jobs</a></p><h1>\(escape(job.jobName ?? job.k8sJob))</h1>
                <p>Kubernetes Job <code>\(escape(job.k8sJob))</code> · request <code>\(escape(job.requestId))</code></p>
                <table id="summary">\(summary.joined())</table>
                <h2>Request</h2><table>\(fields.joined())</table>
                <h2>Pods and logs</h2>
                <table><thead><tr><th>pod</th><th>phase</th><th>exit code</th><th>reason</th><th>started</th><th>duration</th>
                <th>archived log</th></tr></thead><tbody>\(pods.joined())</tbody></table>
                <h2>Reply</h2><pre id="reply">\(escape(replyJSON))</pre>
                <script>
                async function refresh() {
                  const response = await fetch('/api/jobs/' + encodeURIComponent(\(scriptString(job.k8sJob))));
                  if (!response.ok) return;
                  const body = await response.json();
                  const values = {state: body.job.state, reason: body.job.reason, 'exit code': body.job.exitCode,
                    completed: body.job.completedAt, 'reply sent': body.job.reported ? 'yes' : 'no'};
                  for (const [field, value] of Object.entries(values)) {
                    document.querySelector(`[data-field="${field}"]`).textContent = value == null ? '' : String(value);
                  }
                  document.getElementById('reply').textContent = body.reply ? JSON.stringify(body.reply, null, 2) : 'not yet: the Job runs';
                }
                setInterval(refresh, 2000);
                </script>
                """)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&#39;")
    }

    private static func jobRow(_ job: JobView) -> String {
        let cells =
            [job.createdAt ?? "", job.jobName ?? ""].map { "<td>\(escape($0))</td>" }
            + ["<td><a href=\"/jobs/\(escape(job.k8sJob))\">\(escape(job.k8sJob))</a></td>"]
            + ["<td class=\"\(escape(job.state))\">\(escape(job.state))</td>"]
            + [job.reason ?? "", job.exitCode.map(String.init) ?? "", seconds(job.durationMs), job.requestId].map {
                "<td>\(escape($0))</td>"
            }
        return "<tr>\(cells.joined())</tr>"
    }

    /// What the list says of how many Jobs it shows (the script says the same).
    static func shownText(_ shown: Int, of total: Int) -> String {
        shown < total ? "The newest \(shown) of \(total): filter to see the others." : "\(total) Job\(total == 1 ? "" : "s")."
    }

    private static func row(_ values: [String]) -> String {
        "<tr>" + values.map { "<td>\(escape($0))</td>" }.joined() + "</tr>"
    }

    private static func seconds(_ milliseconds: Int?) -> String {
        milliseconds.map { String(format: "%.1f s", Double($0) / 1000) } ?? ""
    }

    /// A JSON string literal, safe inside a script element (no `</script>` can close it).
    private static func scriptString(_ text: String) -> String {
        let data = (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "<", with: "\\u003c")
    }

    private static func page(title: String, body: String) -> String {
        """
        <!doctype html><html><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1em}
        td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}pre{background:#f4f4f4;padding:1em}
        .succeeded{color:#080}.failed,.error,.timedOut,.rejected{color:#b00}.cancelled{color:#888}</style></head>
        <body>\(body)</body></html>
        """
    }
}
