"""The worker's status API: `GET /api/jobs` on its status port (default http://127.0.0.1:8080).

It lists, under `jobs`, the Jobs of the worker's deployment as the shared Job cache has them
(the same on every replica), newest first, each with {requestId, jobName, k8sJob, state,
reason, updatedAt, ...}; `state` is `pending` or `running` while the Job runs, then its reply's
status, and a finished Job stays listed, with its `reply`, for the worker's
finished-job-retention-seconds (10 min by default) after it is reported. Under `rejected`, the
requests this replica rejected (they never had a Job), its most recent 500.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

DEFAULT_TIMEOUT = 2.0

JobEntry = dict[str, Any]


class StatusUnavailable(Exception):
    """The status API did not answer, or not with a job list."""


class StatusAPI:
    def __init__(self, base_url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def jobs(self) -> list[JobEntry]:
        url = f"{self.base_url}/api/jobs"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                body = json.loads(response.read())
        except (OSError, ValueError) as exc:  # URLError and HTTPError are OSErrors
            raise StatusUnavailable(f"{url}: {exc}") from exc
        jobs = body.get("jobs") if isinstance(body, dict) else None
        if not isinstance(jobs, list):
            raise StatusUnavailable(f"{url} did not answer with a job list")
        rejected = body.get("rejected")
        entries = jobs + (rejected if isinstance(rejected, list) else [])
        return [job for job in entries if isinstance(job, dict)]

    def find(self, name: str) -> list[JobEntry]:
        """The entries of request id or Kubernetes Job NAME, else those of job name NAME."""
        jobs = self.jobs()
        exact = [job for job in jobs if name in (job.get("requestId"), job.get("k8sJob"))]
        return exact or [job for job in jobs if job.get("jobName") == name]
