#!/usr/bin/env python3
"""A Python worker of the usual kind, written with pika, the official `kubernetes` client and
boto3: the peer bench/worker measures cloud-worker against (SPEC §10).

It takes the same requests from the same kind of queue and replies with the same fields: one
Job per request (acked once the Job exists), one watch on its Jobs, and when a Job finishes it
reads each pod's log once, uploads it to the output bucket, publishes the reply to the request's
`reply_to` and deletes the Job. Unlike cloud-worker it does not follow logs while pods run (a
log the kubelet rotated away is lost), keeps no claims (two replicas would both report a Job)
and keeps the reply's routing only in the Job's annotations.

Usage: peer_worker.py --queue NAME [--exchange NAME] [--namespace NS] [--s3-endpoint URL] ...
       (the Kubernetes API from $KUBECONFIG, else in-cluster; S3 keys from the usual AWS
       variables)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import boto3
import pika
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

log = logging.getLogger("peer-worker")

MANAGED_BY = "python-peer-worker"
# cloud-worker's label and annotation keys, so that tools (and the bench) read both alike.
POOL_LABEL = "cloud-worker.io/pool"
REQUEST_LABEL = "cloud-worker.io/request"
REQUEST_ID = "cloud-worker.io/request-id"
REQUESTED_NAME = "cloud-worker.io/job-name"
REPLY_TO = "cloud-worker.io/reply-to"
CORRELATION_ID = "cloud-worker.io/correlation-id"
OUTPUT_BUCKET = "cloud-worker.io/output-bucket"
DEFAULT_TIMEOUT_MINUTES = 15


def job_name(requested: str, digest: str) -> str:
    """A DNS-1123 name that is the same for every delivery of one request, so a redelivery
    finds the Job it already made instead of starting a second one."""
    stem = re.sub(r"[^a-z0-9]+", "-", requested.lower()).strip("-")[:54].rstrip("-")
    return f"{stem or 'job'}-{digest[:8]}"


def timestamp(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def finished_condition(job: client.V1Job) -> client.V1JobCondition | None:
    for condition in (job.status and job.status.conditions) or []:
        if condition.type in ("Complete", "Failed") and condition.status == "True":
            return condition
    return None


class PeerWorker:
    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        if os.environ.get("KUBECONFIG"):
            config.load_kube_config()
        else:
            config.load_incluster_config()
        self.batch = client.BatchV1Api()
        self.core = client.CoreV1Api()
        self.s3 = boto3.client("s3", endpoint_url=options.s3_endpoint, region_name=options.s3_region)
        self.selector = f"app.kubernetes.io/managed-by={MANAGED_BY},{POOL_LABEL}={options.queue}"
        self.connection = pika.BlockingConnection(pika.URLParameters(options.amqp_url))
        self.channel = self.connection.channel()
        # Jobs being reported, so the events that follow a Job's last change do not report it twice.
        self.reporting: set[str] = set()
        self.reporters = ThreadPoolExecutor(max_workers=4, thread_name_prefix="report")

    # ------------------------------------------------------------------ requests

    def run(self) -> None:
        exchange, queue = self.options.exchange or self.options.queue, self.options.queue
        self.channel.exchange_declare(exchange, "direct", durable=True)
        self.channel.queue_declare(queue, durable=True)
        self.channel.queue_bind(queue, exchange, routing_key=queue)
        self.channel.queue_declare(self.options.reply_queue, durable=True)
        self.channel.basic_qos(prefetch_count=self.options.prefetch)
        self.channel.basic_consume(queue, self.on_request)
        threading.Thread(target=self.watch_jobs, name="job-watch", daemon=True).start()
        signal.signal(signal.SIGTERM, lambda *_: self.connection.add_callback_threadsafe(self.channel.stop_consuming))
        log.info("consuming queue=%s namespace=%s", queue, self.options.namespace)
        self.channel.start_consuming()
        log.info("shutting down")
        self.reporters.shutdown(wait=True)
        self.connection.process_data_events(time_limit=0)  # replies the reporters queued
        self.connection.close()

    def on_request(self, channel: Any, method: Any, properties: pika.BasicProperties, body: bytes) -> None:
        request_id = properties.message_id or properties.correlation_id or hashlib.sha256(body).hexdigest()
        try:
            job = self.job_manifest(json.loads(body), request_id, properties)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            log.warning("rejected request %s: %r", request_id, error)
            self.publish(properties.reply_to, properties.correlation_id, {
                "requestId": request_id, "status": "rejected", "reason": "InvalidRequest",
                "message": f"invalid request: {error!r}", "result": f"Job request rejected: {error!r}.",
            })
            channel.basic_nack(method.delivery_tag, requeue=False)
            return
        try:
            self.batch.create_namespaced_job(self.options.namespace, job)
            log.info("created job %s for request %s", job["metadata"]["name"], request_id)
        except ApiException as error:
            if error.status != 409:  # 409: a redelivered request whose Job already exists
                log.error("creating job %s: %s %s", job["metadata"]["name"], error.status, error.reason)
                channel.basic_nack(method.delivery_tag, requeue=True)
                return
        channel.basic_ack(method.delivery_tag)

    def job_manifest(self, request: dict[str, Any], request_id: str,
                     properties: pika.BasicProperties) -> dict[str, Any]:
        digest = hashlib.sha256(request_id.encode()).hexdigest()
        name = job_name(request["jobName"], digest)
        output_bucket = request.get("outputBucket") or request["inputBucket"]
        secret = self.options.s3_credentials_secret
        env = [
            {"name": "INPUT_BUCKET", "value": request["inputBucket"]},
            {"name": "OUTPUT_BUCKET", "value": output_bucket},
            {"name": "AWS_ENDPOINT_URL", "value": self.options.job_s3_endpoint or self.options.s3_endpoint},
            {"name": "AWS_REGION", "value": self.options.s3_region},
            {"name": "AWS_ACCESS_KEY_ID", "valueFrom": {"secretKeyRef": {"name": secret, "key": "AWS_ACCESS_KEY_ID"}}},
            {"name": "AWS_SECRET_ACCESS_KEY",
             "valueFrom": {"secretKeyRef": {"name": secret, "key": "AWS_SECRET_ACCESS_KEY"}}},
        ] + [{"name": key, "value": str(value)} for key, value in (request.get("env") or {}).items()]
        container: dict[str, Any] = {"name": "job", "image": request["image"], "env": env}
        for field in ("command", "args", "resources"):
            if request.get(field):
                container[field] = request[field]
        labels = {"app.kubernetes.io/managed-by": MANAGED_BY, POOL_LABEL: self.options.queue,
                  REQUEST_LABEL: digest[:40]}
        annotations = {
            REQUEST_ID: request_id, REQUESTED_NAME: request["jobName"], OUTPUT_BUCKET: output_bucket,
            REPLY_TO: properties.reply_to or self.options.reply_queue,
            CORRELATION_ID: properties.correlation_id or request_id,
        }
        return {
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "labels": labels, "annotations": annotations},
            "spec": {
                "backoffLimit": int(request.get("backoffLimit") or 0),
                "activeDeadlineSeconds": int(request.get("timeOut") or DEFAULT_TIMEOUT_MINUTES) * 60,
                "template": {"metadata": {"labels": labels},
                             "spec": {"restartPolicy": "Never", "containers": [container]}},
            },
        }

    def publish(self, reply_to: str | None, correlation_id: str | None, reply: dict[str, Any]) -> None:
        """Publishes on the consumer's connection; call from the consumer's thread."""
        self.channel.basic_publish(
            "", reply_to or self.options.reply_queue, json.dumps(reply).encode(),
            pika.BasicProperties(correlation_id=correlation_id, content_type="application/json", delivery_mode=2),
        )

    # ------------------------------------------------------------------ jobs

    def watch_jobs(self) -> None:
        """Watches this worker's Jobs for ever; a watch that ends or fails starts over from a
        fresh list, which also reports Jobs that finished while no watch was open."""
        while True:
            try:
                for event in watch.Watch().stream(self.batch.list_namespaced_job, self.options.namespace,
                                                  label_selector=self.selector, timeout_seconds=300):
                    job: client.V1Job = event["object"]
                    uid = job.metadata.uid
                    if event["type"] == "DELETED":
                        self.reporting.discard(uid)
                    elif finished_condition(job) and uid not in self.reporting:
                        self.reporting.add(uid)
                        self.reporters.submit(self.report, job)
            except Exception:  # noqa: BLE001 - the watch must survive any API or network error
                log.exception("job watch failed; starting over")
                threading.Event().wait(1)

    def report(self, job: client.V1Job) -> None:
        name, annotations = job.metadata.name, job.metadata.annotations or {}
        try:
            pods = self.core.list_namespaced_pod(self.options.namespace, label_selector=f"job-name={name}").items
            bucket = annotations.get(OUTPUT_BUCKET, "")
            logs = [self.archive_log(name, pod.metadata.name, bucket) for pod in pods]
            reply = self.reply_body(job, pods, logs)
            # pika connections are not thread-safe: the consumer's thread publishes.
            self.connection.add_callback_threadsafe(
                lambda: self.publish(annotations.get(REPLY_TO), annotations.get(CORRELATION_ID), reply))
            self.batch.delete_namespaced_job(name, self.options.namespace, propagation_policy="Background")
            log.info("reported job %s: %s", name, reply["status"])
        except Exception:  # noqa: BLE001 - one Job's failure must not stop the others
            log.exception("reporting job %s failed", name)

    def archive_log(self, job: str, pod: str, bucket: str) -> dict[str, Any]:
        key = f"logs/{job}/{pod}.log"
        try:
            data = self.core.read_namespaced_pod_log(pod, self.options.namespace).encode()
            self.s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="text/plain; charset=utf-8")
        except Exception as error:  # noqa: BLE001 - the reply says which log is missing
            return {"pod": pod, "key": key, "bytes": 0, "complete": False, "error": str(error)}
        return {"pod": pod, "key": key, "bytes": len(data), "complete": True}

    def reply_body(self, job: client.V1Job, pods: list[client.V1Pod], logs: list[dict[str, Any]]) -> dict[str, Any]:
        annotations = job.metadata.annotations or {}
        condition = finished_condition(job)
        assert condition is not None
        if condition.type == "Complete":
            status = "succeeded"
        else:
            status = "timedOut" if condition.reason == "DeadlineExceeded" else "failed"
        terminated = next((container.state.terminated for pod in pods
                           for container in (pod.status.container_statuses or [])
                           if container.state and container.state.terminated), None)
        started, completed = job.status.start_time, job.status.completion_time or condition.last_transition_time
        name = job.metadata.name
        return {
            "requestId": annotations.get(REQUEST_ID), "jobName": annotations.get(REQUESTED_NAME), "k8sJob": name,
            "namespace": self.options.namespace, "status": status, "reason": condition.reason,
            "message": condition.message,
            "exitCode": terminated.exit_code if terminated else None,
            "terminationMessage": terminated.message if terminated else None,
            "startedAt": timestamp(started), "completedAt": timestamp(completed),
            "durationMs": int((completed - started).total_seconds() * 1000) if started and completed else None,
            "result": f"Job {name} complete." if status == "succeeded" else f"Job {name} {status}: {condition.reason}.",
            "outputBucket": annotations.get(OUTPUT_BUCKET), "logs": logs,
        }


def main() -> None:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--amqp-url", default=env("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"))
    parser.add_argument("--queue", default=env("PEER_QUEUE", "cloud-worker.requests"))
    parser.add_argument("--exchange", default=env("PEER_EXCHANGE"), help="default: the queue's name")
    parser.add_argument("--reply-queue", default=env("PEER_REPLY_QUEUE", "cloud-worker.replies"))
    parser.add_argument("--prefetch", type=int, default=32)
    parser.add_argument("--namespace", default=env("PEER_NAMESPACE", "default"))
    parser.add_argument("--s3-endpoint", default=env("S3_ENDPOINT", "https://s3.amazonaws.com"))
    parser.add_argument("--s3-region", default=env("S3_REGION", "us-east-1"))
    parser.add_argument("--job-s3-endpoint", default=env("PEER_JOB_S3_ENDPOINT"), help="default: --s3-endpoint")
    parser.add_argument("--s3-credentials-secret", default="cloud-worker-s3")
    options = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    PeerWorker(options).run()


if __name__ == "__main__":
    main()
