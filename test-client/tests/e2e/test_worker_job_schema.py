"""The Jobs (and a fan-out's ConfigMap) exactly as the worker POSTs them, checked against the
official Kubernetes object models and against the product's rules (SPEC §4).

The worker talks to a simulator of this module's own, whose request log (`GET /_sim/requests`)
keeps each create body as received: before the API server's defaults, and before unknown
fields are dropped. Each body must then be a valid `V1Job` / `V1ConfigMap` of the PyPI
`kubernetes` client (every key one of the model's `attribute_map` names, every value of its
`openapi_types` type, required fields present: tests/deploy/k8s_validate.py's
`model_errors`) and valid against the API server's own OpenAPI v3 schema with every object
closed (`OpenAPISchemas`, same module). The validators are shown to reject bad objects first,
so that a pass means something.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from e2e_support import (
    DNS_1123_LABEL,
    REPLY_TIMEOUT,
    TEST_CLIENT_DIR,
    RecordingSimulator,
    describe,
    simulator_with_secrets,
    upload_inputs,
)

from cloud_worker_client.config import SAMPLE_JOB_IMAGE

pytestmark = pytest.mark.e2e

K8S_VALIDATE = TEST_CLIENT_DIR / "tests" / "deploy" / "k8s_validate.py"
BUSYBOX = "busybox:latest"
MANAGED_BY = ("app.kubernetes.io/managed-by", "cloud-worker")
S3_CREDENTIAL_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
WORKER_ENV_NAMES = {
    "INPUT_BUCKET", "OUTPUT_BUCKET", "MINIO_SERVICE_HOST", "MINIO_SERVICE_PORT", "AWS_ENDPOINT_URL",
    "AWS_REGION", *S3_CREDENTIAL_KEYS,
}
OTHER_S3_SECRET = "e2e-schema-other-s3"


# ---------------------------------------------------------------- validators


def load_k8s_validate() -> ModuleType:
    """tests/deploy/k8s_validate.py as a module (it needs `kubernetes` and `jsonschema`, the
    test extra of test-client/pyproject.toml)."""
    try:
        import jsonschema  # noqa: F401
        import kubernetes  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"{exc}; install the test extra: pip install -e 'test-client[test]'", pytrace=False)
    spec = importlib.util.spec_from_file_location("k8s_validate", K8S_VALIDATE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def validator() -> Iterator[Validator]:
    yield Validator(load_k8s_validate())


class Validator:
    """Strict schema checks of one object: the `kubernetes` model and the API's OpenAPI."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.schemas = module.OpenAPISchemas()

    def errors(self, obj: Any, api_version: str, kind: str) -> list[str]:
        if not isinstance(obj, dict):
            return [f"not a JSON object: {obj!r}"]
        errors: list[str] = []
        if (obj.get("apiVersion"), obj.get("kind")) != (api_version, kind):
            errors.append(f"apiVersion/kind are {obj.get('apiVersion')!r}/{obj.get('kind')!r}, "
                          f"expected {api_version}/{kind}")
        errors += [f"model V1{kind}: {e}" for e in self.module.model_errors(obj, f"V1{kind}")]
        component = self.schemas.by_kind[(api_version, kind)]
        errors += [f"OpenAPI {component}: {e}" for e in self.schemas.errors_for(obj, component, "")]
        return errors

    def assert_valid(self, obj: Any, api_version: str, kind: str) -> None:
        errors = self.errors(obj, api_version, kind)
        assert not errors, f"the {kind} the worker sent is not valid:\n" + "\n".join(errors) + \
            "\n" + json.dumps(obj, indent=2, sort_keys=True)


def pod_spec(job: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = ((job.get("spec") or {}).get("template") or {}).get("spec") or {}
    return spec


def containers(job: dict[str, Any]) -> list[dict[str, Any]]:
    pod = pod_spec(job)
    return list(pod.get("initContainers") or []) + list(pod.get("containers") or [])


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item.get("name"): item for item in container.get("env") or []}


def rule_violations(job: dict[str, Any], s3_secret: str, literal_secrets: list[str]) -> list[str]:
    """What breaks SPEC §4's rules for every Job: name, restart policy, hardening, S3
    credentials only as secretKeyRef (and no credential anywhere in the body)."""
    found: list[str] = []
    metadata = job.get("metadata") or {}
    name = metadata.get("name")
    if not (isinstance(name, str) and len(name) <= 63 and DNS_1123_LABEL.match(name)):
        found.append(f"metadata.name {name!r} is not a DNS-1123 label of at most 63 characters")
    if (metadata.get("labels") or {}).get(MANAGED_BY[0]) != MANAGED_BY[1]:
        found.append(f"metadata.labels lacks {MANAGED_BY[0]}={MANAGED_BY[1]}")
    pod = pod_spec(job)
    if pod.get("restartPolicy") != "Never":
        found.append(f"restartPolicy is {pod.get('restartPolicy')!r}, not Never")
    if pod.get("automountServiceAccountToken") is not False:
        found.append(f"automountServiceAccountToken is {pod.get('automountServiceAccountToken')!r}, not false")
    pod_security = pod.get("securityContext") or {}
    if not containers(job):
        found.append("the pod has no containers")
    for container in containers(job):
        where = f"container {container.get('name')!r}"
        security = container.get("securityContext") or {}
        if security.get("allowPrivilegeEscalation") is not False:
            found.append(f"{where}: allowPrivilegeEscalation is {security.get('allowPrivilegeEscalation')!r}, not false")
        if security.get("privileged"):
            found.append(f"{where}: privileged")
        capabilities = security.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            found.append(f"{where}: capabilities.drop is {capabilities.get('drop')!r}, without ALL")
        if capabilities.get("add"):
            found.append(f"{where}: capabilities.add is {capabilities.get('add')!r}")
        seccomp = security.get("seccompProfile") or pod_security.get("seccompProfile") or {}
        if seccomp.get("type") != "RuntimeDefault":
            found.append(f"{where}: seccompProfile is {seccomp!r}, not RuntimeDefault")
        if container.get("imagePullPolicy") != "IfNotPresent":
            found.append(f"{where}: imagePullPolicy is {container.get('imagePullPolicy')!r}, not IfNotPresent")
        if container.get("terminationMessagePolicy") != "FallbackToLogsOnError":
            found.append(f"{where}: terminationMessagePolicy is {container.get('terminationMessagePolicy')!r}")
        entries = [item for item in container.get("env") or [] if item.get("name") in S3_CREDENTIAL_KEYS]
        for key in S3_CREDENTIAL_KEYS:
            matching = [item for item in entries if item.get("name") == key]
            wanted = {"name": key, "valueFrom": {"secretKeyRef": {"name": s3_secret, "key": key}}}
            if matching != [wanted]:
                found.append(f"{where}: {key} is {matching!r}, expected only {wanted!r}")
        if container.get("envFrom"):
            found.append(f"{where}: envFrom {container.get('envFrom')!r}")
    text = json.dumps(job)
    for secret in literal_secrets:
        if secret and secret in text:
            found.append("a literal S3 credential appears in the body")
    return found


# ---------------------------------------------------------------- the validators can fail


def valid_job() -> dict[str, Any]:
    """A Job that passes every check here (the shape the worker is meant to send)."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "unit-job-0123abcd", "labels": {MANAGED_BY[0]: MANAGED_BY[1]},
                     "annotations": {"cloud-worker.io/job-name": "unit job"}},
        "spec": {
            "activeDeadlineSeconds": 900,
            "backoffLimit": 0,
            "ttlSecondsAfterFinished": 3600,
            "template": {
                "metadata": {"labels": {MANAGED_BY[0]: MANAGED_BY[1]}},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "job",
                        "image": "busybox:latest",
                        "imagePullPolicy": "IfNotPresent",
                        "terminationMessagePolicy": "FallbackToLogsOnError",
                        "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
                        "env": [
                            {"name": "INPUT_BUCKET", "value": "in"},
                            {"name": "AWS_ACCESS_KEY_ID",
                             "valueFrom": {"secretKeyRef": {"name": "s3", "key": "AWS_ACCESS_KEY_ID"}}},
                            {"name": "AWS_SECRET_ACCESS_KEY",
                             "valueFrom": {"secretKeyRef": {"name": "s3", "key": "AWS_SECRET_ACCESS_KEY"}}},
                        ],
                        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                    }],
                },
            },
        },
    }


def test_validator_accepts_a_valid_job(validator: Validator) -> None:
    assert validator.errors(valid_job(), "batch/v1", "Job") == []
    assert rule_violations(valid_job(), "s3", ["the-secret"]) == []


def test_validator_rejects_an_unknown_field(validator: Validator) -> None:
    job = valid_job()
    pod_spec(job)["containers"][0]["securityContext"]["notAField"] = True
    job["spec"]["completionsTypo"] = 1
    errors = validator.errors(job, "batch/v1", "Job")
    model = [e for e in errors if e.startswith("model")]
    assert any(".spec.template.spec.containers[0].securityContext.notAField: unknown field" in e for e in model), errors
    assert any(".spec.completionsTypo: unknown field" in e for e in model), errors
    assert any(e.startswith("OpenAPI") and "notAField" in e for e in errors), errors


def test_validator_rejects_a_wrong_type(validator: Validator) -> None:
    job = valid_job()
    job["spec"]["backoffLimit"] = "0"
    pod_spec(job)["automountServiceAccountToken"] = "false"
    pod_spec(job)["containers"][0]["resources"]["limits"]["cpu"] = ["1"]
    errors = validator.errors(job, "batch/v1", "Job")
    model = [e for e in errors if e.startswith("model")]
    assert any(".spec.backoffLimit: expected int, got str" in e for e in model), errors
    assert any(".spec.template.spec.automountServiceAccountToken: expected bool" in e for e in model), errors
    assert any(".resources.limits.cpu: expected str, got list" in e for e in model), errors


def test_validator_rejects_a_missing_required_field(validator: Validator) -> None:
    job = valid_job()
    del pod_spec(job)["containers"][0]["name"]
    errors = validator.errors(job, "batch/v1", "Job")
    assert any(e.startswith("model") and "`name`, must not be `None`" in e for e in errors), errors
    assert any(e.startswith("OpenAPI") and "'name' is a required property" in e for e in errors), errors
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": 1}}
    assert any("expected str, got int" in e for e in validator.errors(cm, "v1", "ConfigMap"))


def test_rules_reject_an_unsafe_job() -> None:
    job = valid_job()
    job["metadata"]["name"] = "Not_A_Label-" + "x" * 60
    pod = pod_spec(job)
    pod["restartPolicy"] = "OnFailure"
    pod["automountServiceAccountToken"] = True
    del pod["securityContext"]
    container = pod["containers"][0]
    container["securityContext"] = {"capabilities": {"drop": ["NET_RAW"]}}
    container["env"][2] = {"name": "AWS_SECRET_ACCESS_KEY", "value": "the-secret"}
    found = "\n".join(rule_violations(job, "s3", ["the-secret"]))
    for expected in ("metadata.name", "restartPolicy", "automountServiceAccountToken", "allowPrivilegeEscalation",
                     "capabilities.drop", "seccompProfile", "AWS_SECRET_ACCESS_KEY is", "literal S3 credential"):
        assert expected in found, found


# ---------------------------------------------------------------- what the worker sends


@pytest.fixture(scope="module")
def simulator(endpoints: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingSimulator]:
    with simulator_with_secrets(
        tmp_path_factory.mktemp("schema-sim"), endpoints, (endpoints.s3_credentials_secret, OTHER_S3_SECRET)
    ) as sim:
        yield sim


@pytest.fixture(scope="module")
def running_worker(simulator: RecordingSimulator, worker: Any) -> Any:
    return worker(CLOUD_WORKER_KUBE_SERVER=simulator.base)


@pytest.fixture(scope="module")
def configured_worker(
    simulator: RecordingSimulator, worker: Any, running_worker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    """A second worker, on queues of its own, with the pod settings the worker has, reaching
    the simulator through a kubeconfig (a named context that is not the current one)."""
    kubeconfig = tmp_path_factory.mktemp("kubeconfig") / "config"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: elsewhere\n"
        f"clusters:\n- name: sim\n  cluster: {{server: '{simulator.base}'}}\n"
        "- name: other\n  cluster: {server: 'https://192.0.2.1:6443'}\n"
        "contexts:\n- name: sim\n  context: {cluster: sim, user: worker, namespace: default}\n"
        "- name: elsewhere\n  context: {cluster: other, user: worker}\n"
        "users:\n- name: worker\n  user: {}\n",
        encoding="utf-8",
    )
    return worker(
        names=type(running_worker.names).fresh(),
        CLOUD_WORKER_KUBE_SERVER="",
        CLOUD_WORKER_KUBECONFIG=str(kubeconfig),
        CLOUD_WORKER_KUBE_CONTEXT="sim",
        CLOUD_WORKER_NODE_SELECTOR="pool=batch,kubernetes.io/arch=amd64",
        CLOUD_WORKER_TOLERATIONS='[{"key":"dedicated","operator":"Equal","value":"batch","effect":"NoSchedule"}]',
        CLOUD_WORKER_IMAGE_PULL_SECRETS="regcred,registry-two",
        CLOUD_WORKER_RUN_AS_NON_ROOT="true",
        CLOUD_WORKER_JOB_TTL_SECONDS="600",
        CLOUD_WORKER_DEFAULT_TIMEOUT_MINUTES="3",
        CLOUD_WORKER_S3_CREDENTIALS_SECRET=OTHER_S3_SECRET,
    )


def submit(worker_process: Any, request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    with worker_process.rpc() as rpc:
        published = rpc.publish(request)
        reply = rpc.wait_for_reply(published.correlation_id, REPLY_TIMEOUT)
    return published.correlation_id, reply.json


def created(simulator: RecordingSimulator, resource: str, name: str) -> dict[str, Any]:
    """The one create of `name` the worker sent (its log entry)."""
    entries = [
        entry for entry in simulator.requests(verb="create", resource=resource)
        if isinstance(entry.get("body"), dict) and (entry["body"].get("metadata") or {}).get("name") == name
    ]
    assert len(entries) == 1, f"expected one create of {resource} {name}, got:\n{json.dumps(entries, indent=2)}"
    entry = entries[0]
    assert entry["userAgent"] == "cloud-worker", entry
    assert entry["code"] == 201, entry
    return entry


def check_job(
    simulator: RecordingSimulator, validator: Validator, endpoints: Any, reply: dict[str, Any], s3_secret: str
) -> dict[str, Any]:
    """The Job behind a reply: valid, within the rules, and no credential in any body the
    worker sent about it. Returns the body."""
    name = reply.get("k8sJob")
    assert isinstance(name, str), describe(reply)
    job: dict[str, Any] = created(simulator, "jobs", name)["body"]
    validator.assert_valid(job, "batch/v1", "Job")
    secrets = [endpoints.s3_secret_access_key, endpoints.s3_access_key_id]
    violations = rule_violations(job, s3_secret, secrets)
    assert not violations, "\n".join(violations) + "\n" + json.dumps(job, indent=2, sort_keys=True)
    for entry in simulator.requests(name=name):
        assert not any(s in json.dumps(entry.get("body")) for s in secrets), entry
    return job


def assert_worker_env(container: dict[str, Any], endpoints: Any, input_bucket: str, output_bucket: str) -> None:
    env = env_of(container)
    assert WORKER_ENV_NAMES <= set(env), sorted(env)
    values = {name: env[name].get("value") for name in WORKER_ENV_NAMES - set(S3_CREDENTIAL_KEYS)}
    host, port = endpoints.s3_endpoint.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)
    assert values == {
        "INPUT_BUCKET": input_bucket,
        "OUTPUT_BUCKET": output_bucket,
        "MINIO_SERVICE_HOST": host,
        "MINIO_SERVICE_PORT": port,
        "AWS_ENDPOINT_URL": endpoints.s3_endpoint,
        "AWS_REGION": endpoints.s3_region,
    }
    assert len(container.get("env") or []) == len(env), "an environment variable is set twice"


def test_plain_request_job_is_valid(
    simulator: RecordingSimulator, running_worker: Any, validator: Validator, s3: Any, bucket_factory: Any,
    endpoints: Any,
) -> None:
    input_bucket, output_bucket = bucket_factory("schema-in"), bucket_factory("schema-out")
    upload_inputs(s3, input_bucket)
    request = {"image": SAMPLE_JOB_IMAGE, "jobName": "e2e-schema-plain", "timeOut": 5,
               "inputBucket": input_bucket, "outputBucket": output_bucket}

    request_id, reply = submit(running_worker, request)

    assert reply["status"] == "succeeded", describe(reply)
    job = check_job(simulator, validator, endpoints, reply, endpoints.s3_credentials_secret)
    assert job["metadata"]["name"].startswith("e2e-schema-plain"), job["metadata"]
    annotations = set((job["metadata"].get("annotations") or {}).values())
    assert {request_id, "e2e-schema-plain", output_bucket} <= annotations, job["metadata"]
    spec = job["spec"]
    assert spec["activeDeadlineSeconds"] == 5 * 60
    assert spec["backoffLimit"] == 0
    assert spec["ttlSecondsAfterFinished"] == 3600
    assert "completionMode" not in spec and "completions" not in spec, spec
    (container,) = pod_spec(job)["containers"]
    assert container["image"] == SAMPLE_JOB_IMAGE
    assert "command" not in container and "args" not in container, container
    assert_worker_env(container, endpoints, input_bucket, output_bucket)
    assert set(env_of(container)) == WORKER_ENV_NAMES, sorted(env_of(container))


def test_request_with_every_option_job_is_valid(
    simulator: RecordingSimulator, running_worker: Any, validator: Validator, bucket_factory: Any, endpoints: Any,
) -> None:
    input_bucket, output_bucket = bucket_factory("schema-in"), bucket_factory("schema-out")
    job_name = "E2E_Schema.Every-Option " + "long" * 20
    request = {
        "image": BUSYBOX,
        "jobName": job_name,
        "timeOut": 7,
        "inputBucket": input_bucket,
        "outputBucket": output_bucket,
        "env": {"GREETING": "hello world", "EMPTY": "", "WITH_SYMBOLS": "a=b;c $HOME \"q\""},
        "command": ["sh", "-c"],
        "args": ['test "$GREETING" = "hello world" && echo "prefix=$FILE_PREFIX"', "ignored-arg"],
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": 1, "memory": "256Mi"}},
        "backoffLimit": 2,
        "prefix": "run1",
    }

    _, reply = submit(running_worker, request)

    assert reply["status"] == "succeeded", describe(reply)
    assert reply["jobName"] == job_name, describe(reply)
    job = check_job(simulator, validator, endpoints, reply, endpoints.s3_credentials_secret)
    assert job["metadata"]["name"].startswith("e2e-schema"), job["metadata"]
    assert "run1" in (job["metadata"].get("annotations") or {}).values(), job["metadata"]
    spec = job["spec"]
    assert spec["activeDeadlineSeconds"] == 7 * 60
    assert spec["backoffLimit"] == 2
    (container,) = pod_spec(job)["containers"]
    assert container["image"] == BUSYBOX
    assert container["command"] == request["command"]
    assert container["args"] == request["args"]
    # Quantities go out as strings (the model's dict(str, str)), whatever the request used.
    assert container["resources"] == {
        "requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "256Mi"},
    }
    assert_worker_env(container, endpoints, input_bucket, output_bucket)
    env = env_of(container)
    assert set(env) == WORKER_ENV_NAMES | {"FILE_PREFIX", *request["env"]}, sorted(env)
    assert env["FILE_PREFIX"] == {"name": "FILE_PREFIX", "value": "run1"}
    for name, value in request["env"].items():
        assert env[name] == {"name": name, "value": value}, env[name]
    pod = pod_spec(job)
    assert "imagePullSecrets" not in pod and not (pod.get("securityContext") or {}).get("runAsNonRoot"), pod


def test_worker_pod_settings_reach_the_job(
    simulator: RecordingSimulator, configured_worker: Any, validator: Validator, bucket_factory: Any, endpoints: Any,
) -> None:
    """Image pull secrets, runAsNonRoot, node selector, tolerations, the TTL, the default
    timeout and the credentials' Secret come from the worker's configuration."""
    bucket = bucket_factory("schema-io")
    request = {"image": BUSYBOX, "jobName": "e2e-schema-settings", "inputBucket": bucket,
               "command": ["sh", "-c", "echo settings"]}

    _, reply = submit(configured_worker, request)

    assert reply["status"] == "succeeded", describe(reply)
    job = check_job(simulator, validator, endpoints, reply, OTHER_S3_SECRET)
    spec = job["spec"]
    assert spec["ttlSecondsAfterFinished"] == 600
    assert spec["activeDeadlineSeconds"] == 3 * 60
    pod = pod_spec(job)
    assert pod["imagePullSecrets"] == [{"name": "regcred"}, {"name": "registry-two"}]
    assert pod["nodeSelector"] == {"pool": "batch", "kubernetes.io/arch": "amd64"}
    assert pod["tolerations"] == [{"key": "dedicated", "operator": "Equal", "value": "batch", "effect": "NoSchedule"}]
    container_security = [c.get("securityContext") or {} for c in containers(job)]
    assert (pod.get("securityContext") or {}).get("runAsNonRoot") is True or all(
        s.get("runAsNonRoot") is True for s in container_security
    ), json.dumps(pod, indent=2)
    assert not any(s.get("runAsNonRoot") is False for s in container_security), container_security
    (container,) = pod["containers"]
    assert_worker_env(container, endpoints, bucket, bucket)


def test_fan_out_job_and_config_map_are_valid(
    simulator: RecordingSimulator, running_worker: Any, validator: Validator, s3: Any, bucket_factory: Any,
    endpoints: Any,
) -> None:
    """`tasks` make an Indexed Job and a ConfigMap (SPEC §4): each pod reads its own task's
    JSON from the file TASK_ARGS_FILE names."""
    bucket = bucket_factory("schema-fan")
    tasks: list[Any] = [{"file": "alpha.txt", "words": [1, 2]}, "two", 3, [4.5, True]]
    request = {
        "image": BUSYBOX, "jobName": "e2e-schema-fan-out", "timeOut": 5, "inputBucket": bucket,
        "command": ["sh", "-c"],
        "args": ['cat "$TASK_ARGS_FILE"; echo; echo "index $JOB_COMPLETION_INDEX"'],
        "tasks": tasks, "parallelism": 2,
    }

    _, reply = submit(running_worker, request)

    assert reply["status"] == "succeeded", describe(reply)
    assert reply.get("tasks") == {"total": 4, "succeeded": 4, "failed": 0}, describe(reply)
    job_entry = created(simulator, "jobs", reply["k8sJob"])
    job = check_job(simulator, validator, endpoints, reply, endpoints.s3_credentials_secret)
    spec = job["spec"]
    assert (spec.get("completionMode"), spec.get("completions"), spec.get("parallelism")) == ("Indexed", 4, 2), spec
    pod = pod_spec(job)
    (container,) = pod["containers"]
    env = env_of(container)
    assert "TASK_ARGS_FILE" in env, sorted(env)

    # The ConfigMap: valid, owned by the Job (the uid the API server gave it), one file per task.
    config_maps = [
        e for e in simulator.requests(verb="create", resource="configmaps")
        if e.get("userAgent") == "cloud-worker" and e["seq"] > job_entry["seq"]
    ]
    assert len(config_maps) == 1, json.dumps(config_maps, indent=2)
    assert config_maps[0]["code"] == 201, config_maps[0]
    config_map: dict[str, Any] = config_maps[0]["body"]
    validator.assert_valid(config_map, "v1", "ConfigMap")
    text = json.dumps(config_map)
    assert endpoints.s3_secret_access_key not in text and endpoints.s3_access_key_id not in text
    metadata = config_map["metadata"]
    assert (metadata.get("labels") or {}).get(MANAGED_BY[0]) == MANAGED_BY[1], metadata
    owners = metadata.get("ownerReferences") or []
    assert [(o.get("apiVersion"), o.get("kind"), o.get("name"), o.get("uid"), o.get("controller")) for o in owners] == [
        ("batch/v1", "Job", job["metadata"]["name"], job_entry["uid"], True)
    ], owners

    # The pod mounts it read-only and TASK_ARGS_FILE names index i's file, which holds task i.
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    (mount,) = [m for m in container.get("volumeMounts") or []
                if (volumes.get(m["name"]) or {}).get("configMap", {}).get("name") == metadata["name"]]
    assert mount.get("readOnly") is True, mount
    items = {item["path"]: item["key"] for item in volumes[mount["name"]]["configMap"].get("items") or []}
    task_file = env["TASK_ARGS_FILE"].get("value") or ""
    assert task_file.startswith(mount["mountPath"].rstrip("/") + "/"), (task_file, mount)
    # $(VAR) expands only from variables defined before it, and the Job controller appends its
    # own JOB_COMPLETION_INDEX after the template's: the Job must define it first.
    assert "$(JOB_COMPLETION_INDEX)" in task_file, task_file
    names = [item.get("name") for item in container.get("env") or []]
    assert "JOB_COMPLETION_INDEX" in names and names.index("JOB_COMPLETION_INDEX") < names.index("TASK_ARGS_FILE"), names
    assert env["JOB_COMPLETION_INDEX"].get("valueFrom") == {
        "fieldRef": {"fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}
    }, env["JOB_COMPLETION_INDEX"]
    data = config_map.get("data") or {}
    for index, task in enumerate(tasks):
        relative = task_file.replace("$(JOB_COMPLETION_INDEX)", str(index))[len(mount["mountPath"].rstrip("/")) + 1:]
        key = items.get(relative, relative)
        assert key in data, (key, sorted(data))
        assert json.loads(data[key]) == task, (key, data[key])
    assert len(data) == len(tasks), sorted(data)

    # And each pod did read its own task.
    logs = reply.get("logs") or []
    assert len(logs) == len(tasks), describe(reply)
    seen = {}
    for entry in logs:
        text = s3.get_object(Bucket=bucket, Key=entry["key"])["Body"].read().decode("utf-8")
        lines = [line for line in text.splitlines() if line.strip()]
        index = int(lines[-1].removeprefix("index "))
        seen[index] = json.loads(lines[0])
    assert seen == dict(enumerate(tasks)), seen
