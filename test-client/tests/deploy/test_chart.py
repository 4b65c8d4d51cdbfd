"""The Helm chart (charts/cloud-worker), linted and rendered by the real Helm engine, its
objects validated against the official Kubernetes schemas, and what it must guarantee: the
worker's exact RBAC rules, a restricted pod, secrets only in Secrets, every setting exposed
and documented."""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy_support import (
    CHART,
    CUSTOM_VALUES,
    RBAC_CONFIG,
    RENDER_CASES,
    Render,
    Tools,
    helm_engine,
    kube_call,
    render_chart,
    worker_binary,
)

# Worker variables that carry secrets: from Secrets, never from the ConfigMap. The status token
# is set only when worker.statusToken.existingSecret names its Secret.
ALWAYS_SECRET_VARIABLES = {"CLOUD_WORKER_AMQP_URL", "CLOUD_WORKER_S3_ACCESS_KEY_ID", "CLOUD_WORKER_S3_SECRET_ACCESS_KEY"}
SECRET_VARIABLES = ALWAYS_SECRET_VARIABLES | {"CLOUD_WORKER_STATUS_TOKEN"}
STANDARD_LABELS = {
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
}
CASES = list(RENDER_CASES)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def custom_values() -> dict[str, Any]:
    values: dict[str, Any] = load_yaml(CUSTOM_VALUES)
    return values


def worker_deployment(render: Render) -> dict[str, Any]:
    found = [d for d in render.of_kind("Deployment")
             if d["metadata"]["labels"].get("app.kubernetes.io/component") == "worker"]
    assert len(found) == 1, f"{render.name}: {len(found)} worker Deployments"
    return found[0]


def worker_container(render: Render) -> dict[str, Any]:
    containers = worker_deployment(render)["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def leaf_paths(values: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted paths of the leaves (empty maps and lists count as leaves)."""
    if isinstance(values, dict) and values:
        out: dict[str, Any] = {}
        for key, value in values.items():
            out.update(leaf_paths(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: values}


def triples(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}


# MARK: - lint


@pytest.mark.parametrize("case", CASES)
def test_helm_lint_finds_no_error(tools: Tools, case: str) -> None:
    values, _, _ = RENDER_CASES[case]
    args = ["lint", str(CHART)] + (["--values", str(values)] if values else [])
    result = helm_engine(tools, *args)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["charts"] == 1
    problems = [m for m in report["messages"] if m["severity"] in ("ERROR", "WARNING")]
    assert not problems and report["errors"] == 0, f"helm lint ({case} values): {report}"


def test_helm_lint_reports_a_broken_template(tools: Tools) -> None:
    """The lint above would see an error: a chart with a template that cannot render fails."""
    with tempfile.TemporaryDirectory() as scratch:
        broken = Path(scratch) / "cloud-worker"
        shutil.copytree(CHART, broken)
        (broken / "templates" / "broken.yaml").write_text("{{ .Values.nothing.here }}\n")
        result = helm_engine(tools, "lint", str(broken))
    report = json.loads(result.stdout)
    assert any(m["severity"] == "ERROR" for m in report["messages"]), report


# MARK: - render and schemas


def test_default_render_has_the_worker_objects(renders: dict[str, Render]) -> None:
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in renders["default"].objects)
    assert kinds == sorted([
        ("ConfigMap", "cloud-worker"),
        ("Deployment", "cloud-worker"),
        ("Role", "cloud-worker"),
        ("RoleBinding", "cloud-worker"),
        ("Service", "cloud-worker"),
        ("ServiceAccount", "cloud-worker"),
    ])


def test_custom_render_has_every_optional_object(renders: dict[str, Render]) -> None:
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in renders["custom"].objects)
    assert kinds == sorted([
        ("ConfigMap", "batch-worker"),
        ("Deployment", "batch-worker"),
        ("NetworkPolicy", "batch-worker"),
        ("PodDisruptionBudget", "batch-worker"),
        ("Deployment", "batch-worker-minio"),
        ("Deployment", "batch-worker-rabbitmq"),
        ("Role", "batch-worker"),
        ("RoleBinding", "batch-worker"),
        ("Secret", "batch-worker-amqp"),
        ("Secret", "batch-worker-rabbitmq"),
        ("Secret", "batch-worker-s3"),
        ("Service", "batch-worker"),
        ("Service", "batch-worker-minio"),
        ("Service", "batch-worker-rabbitmq"),
        ("ServiceAccount", "batch-worker-sa"),
        ("ServiceMonitor", "batch-worker"),
    ])


@pytest.mark.parametrize("case", CASES)
def test_helm_sends_exactly_the_manifest(renders: dict[str, Render], case: str) -> None:
    """What Helm would create is what `helm template` prints (plus Helm's ownership marks)."""
    render = renders[case]
    created = copy.deepcopy(render.created)
    for obj in created:
        annotations = obj["metadata"].get("annotations", {})
        assert annotations.pop("meta.helm.sh/release-name") == render.release
        assert annotations.pop("meta.helm.sh/release-namespace") == render.namespace
        if not annotations:
            obj["metadata"].pop("annotations")
    key = lambda o: (o["kind"], o["metadata"]["name"])  # noqa: E731
    assert sorted(created, key=key) == sorted(render.objects, key=key)


@pytest.mark.parametrize("case", CASES)
def test_every_rendered_object_matches_the_official_schemas(renders: dict[str, Render], validate: Any, case: str) -> None:
    """The installed objects and the hooks (helm test, post-delete) alike."""
    objects = renders[case].objects + renders[case].hooks
    reports = validate(objects)
    assert len(reports) == len(objects)
    unchecked = [r for r in reports if not r["checkedWith"]]
    invalid = {f"{r['kind']}/{r['name']} ({r['checkedWith']})": r["errors"] for r in reports if r["errors"]}
    assert not unchecked and not invalid, json.dumps(invalid or unchecked, indent=2)


def test_config_service_account_yaml_matches_the_official_schemas(
    rbac_config_objects: list[dict[str, Any]], validate: Any
) -> None:
    reports = validate(rbac_config_objects)
    assert [r["kind"] for r in reports] == ["Namespace", "ServiceAccount", "Role", "RoleBinding"]
    assert all(r["checkedWith"] and not r["errors"] for r in reports), json.dumps(reports, indent=2)


def test_the_validation_rejects_unknown_fields_and_wrong_types(renders: dict[str, Render], validate: Any) -> None:
    """The schema check is strict on every route: OpenAPI documents, client models, ServiceMonitor."""
    render = renders["custom"]
    deployment = copy.deepcopy(worker_deployment(render))
    deployment["spec"]["replica"] = 1
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContxt"] = {}
    role = copy.deepcopy(render.one("Role"))
    role["rules"][0]["verb"] = ["get"]
    binding = copy.deepcopy(render.one("RoleBinding"))
    del binding["roleRef"]["name"]
    config_map = copy.deepcopy(render.one("ConfigMap"))
    config_map["data"]["CLOUD_WORKER_PREFETCH"] = 8
    service = copy.deepcopy(render.one("Service", "batch-worker"))
    service["spec"]["ports"][0]["protocl"] = "TCP"
    monitor = copy.deepcopy(render.one("ServiceMonitor"))
    monitor["spec"]["endpoint"] = []
    broken = [deployment, role, binding, config_map, service, monitor]
    reports = validate(broken)
    errors = {r["kind"]: " ".join(r["errors"]) for r in reports}
    assert "replica" in errors["Deployment"] and "securityContxt" in errors["Deployment"]
    assert "verb" in errors["Role"]
    assert "name" in errors["RoleBinding"]
    assert "CLOUD_WORKER_PREFETCH" in errors["ConfigMap"]
    assert "protocl" in errors["Service"]
    assert "endpoint" in errors["ServiceMonitor"]
    assert validate([{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "x"}}])[0]["errors"]


# MARK: - RBAC


def rendered_roles(renders: dict[str, Render], rbac_config_objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    roles = {f"chart ({case} values)": renders[case].one("Role") for case in CASES}
    config_roles = [o for o in rbac_config_objects if o["kind"] == "Role"]
    assert len(config_roles) == 1
    roles["config/service-account.yaml"] = config_roles[0]
    return roles


def test_roles_grant_exactly_what_the_worker_calls(
    renders: dict[str, Render], rbac_config_objects: list[dict[str, Any]], worker_rbac_rules: list[dict[str, Any]]
) -> None:
    wanted = triples(worker_rbac_rules)
    assert wanted, "the worker printed no rules"
    for where, role in rendered_roles(renders, rbac_config_objects).items():
        rules = role["rules"]
        for rule in rules:
            assert set(rule) == {"apiGroups", "resources", "verbs"}, f"{where}: {rule} (no resourceNames, no nonResourceURLs)"
            assert "*" not in rule["apiGroups"] + rule["resources"] + rule["verbs"], f"{where}: wildcard in {rule}"
        granted = triples(rules)
        assert granted == wanted, f"{where}: grants {sorted(granted - wanted)} too many, {sorted(wanted - granted)} missing"
        # Same shape as the worker prints it, rule for rule.
        normalize = lambda rs: sorted(json.dumps({k: sorted(v) for k, v in r.items()}, sort_keys=True) for r in rs)  # noqa: E731
        assert normalize(rules) == normalize(worker_rbac_rules), where


def test_nothing_cluster_wide(renders: dict[str, Render], rbac_config_objects: list[dict[str, Any]]) -> None:
    everything = [o for case in CASES for o in renders[case].objects + renders[case].hooks] + rbac_config_objects
    assert not [o for o in everything if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    texts = [p.read_text(encoding="utf-8") for p in (CHART / "templates").rglob("*") if p.is_file()]
    texts += [RBAC_CONFIG.read_text(encoding="utf-8")]
    texts += [r.manifest for r in renders.values()] + [m for r in renders.values() for m in r.hook_manifests]
    assert not [t for t in texts if "cluster-admin" in t or "ClusterRole" in t]


@pytest.mark.parametrize("case", CASES)
def test_role_binding_ties_the_worker_account_to_its_role(renders: dict[str, Render], case: str) -> None:
    render = renders[case]
    role, binding = render.one("Role"), render.one("RoleBinding")
    pod_spec = worker_deployment(render)["spec"]["template"]["spec"]
    account = render.one("ServiceAccount")
    jobs_namespace = render.one("ConfigMap")["data"]["CLOUD_WORKER_NAMESPACE"]
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == jobs_namespace
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"]}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": render.namespace}]
    assert pod_spec["serviceAccountName"] == account["metadata"]["name"]
    assert pod_spec["automountServiceAccountToken"] is True
    assert account.get("automountServiceAccountToken") is False


def test_config_service_account_yaml_binds_its_role(rbac_config_objects: list[dict[str, Any]]) -> None:
    by_kind = {o["kind"]: o for o in rbac_config_objects}
    namespace = by_kind["Namespace"]["metadata"]["name"]
    for kind in ("ServiceAccount", "Role", "RoleBinding"):
        assert by_kind[kind]["metadata"]["namespace"] == namespace
    binding = by_kind["RoleBinding"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": by_kind["Role"]["metadata"]["name"]}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "namespace": namespace,
                                    "name": by_kind["ServiceAccount"]["metadata"]["name"]}]


# MARK: - the worker's pod


@pytest.mark.parametrize("case", CASES)
def test_worker_pod_is_restricted(renders: dict[str, Render], case: str) -> None:
    pod_spec = worker_deployment(renders[case])["spec"]["template"]["spec"]
    pod_security = pod_spec["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}
    container = worker_container(renders[case])
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "privileged" not in security or security["privileged"] is False
    assert not pod_spec.get("hostNetwork") and not pod_spec.get("hostPID") and not pod_spec.get("hostIPC")
    shutdown_grace = int(renders[case].one("ConfigMap")["data"]["CLOUD_WORKER_SHUTDOWN_GRACE_SECONDS"])
    assert pod_spec["terminationGracePeriodSeconds"] > shutdown_grace
    if case == "default":
        assert pod_security["runAsUser"] == security["runAsUser"] == 65532
        assert pod_spec["terminationGracePeriodSeconds"] == 40


@pytest.mark.parametrize("case", CASES)
def test_every_pod_of_the_chart_is_hardened(renders: dict[str, Render], case: str) -> None:
    """The development broker and S3 store too (they keep a writable root file system)."""
    for deployment in renders[case].of_kind("Deployment"):
        pod_spec = deployment["spec"]["template"]["spec"]
        assert pod_spec["securityContext"]["runAsNonRoot"] is True, deployment["metadata"]["name"]
        assert pod_spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in pod_spec["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("case", CASES)
def test_worker_probes_and_port(renders: dict[str, Render], case: str) -> None:
    container = worker_container(renders[case])
    http_port = int(renders[case].one("ConfigMap")["data"]["CLOUD_WORKER_HTTP_PORT"])
    assert container["ports"] == [{"name": "http", "containerPort": http_port, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    if case == "default":
        assert http_port == 8080


@pytest.mark.parametrize("case", CASES)
def test_metrics_service_is_annotated_for_prometheus(renders: dict[str, Render], case: str) -> None:
    """By default; service.prometheusAnnotations=false (the custom values) leaves them out."""
    render = renders[case]
    service = next(s for s in render.of_kind("Service") if s["metadata"]["labels"]["app.kubernetes.io/component"] == "worker")
    annotations = service["metadata"]["annotations"]
    http_port = render.one("ConfigMap")["data"]["CLOUD_WORKER_HTTP_PORT"]
    if case == "default":
        assert annotations == {"prometheus.io/scrape": "true", "prometheus.io/port": http_port,
                               "prometheus.io/path": "/metrics"}
    else:
        assert annotations == {"example.com/owner": "platform"}
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert service["spec"]["selector"] == worker_deployment(render)["spec"]["selector"]["matchLabels"]


@pytest.mark.parametrize("case", CASES)
def test_standard_labels_on_every_object(renders: dict[str, Render], case: str) -> None:
    """On the objects, the hooks and every pod template; commonLabels too, never in a selector."""
    render = renders[case]
    common = custom_values()["commonLabels"] if case == "custom" else {}
    pod_templates = [o["spec"]["template"] for o in render.objects + render.hooks if o["kind"] in ("Deployment", "Job")]
    for obj in render.objects + render.hooks + pod_templates:
        labels = obj["metadata"]["labels"]
        name = obj["metadata"].get("name", "a pod template")
        assert STANDARD_LABELS <= set(labels), f"{obj.get('kind')}/{name}: {sorted(labels)}"
        assert labels["app.kubernetes.io/instance"] == render.release
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/part-of"] == "cloud-worker"
        assert labels["helm.sh/chart"] == "cloud-worker-0.2.0"
        assert common.items() <= labels.items(), f"{name}: commonLabels missing"
    for deployment in render.of_kind("Deployment"):
        assert not set(common) & set(deployment["spec"]["selector"]["matchLabels"])


def test_common_labels_cannot_replace_a_standard_label(tools: Tools) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as values:
        yaml.safe_dump({"commonLabels": {"app.kubernetes.io/name": "other", "team": "data"}}, values)
        values.flush()
        rendered = render_chart(tools, Path(values.name), "x", "cloud-worker")
    service = next(o for o in yaml.safe_load_all(rendered["manifest"]) if o and o["kind"] == "Service")
    assert service["metadata"]["labels"]["app.kubernetes.io/name"] == "cloud-worker"
    assert service["metadata"]["labels"]["team"] == "data"


# MARK: - settings and secrets


# Chart defaults that differ from the worker's, on purpose.
CHART_OVERRIDES = {
    "CLOUD_WORKER_LOG_FORMAT": "json",  # one object per line, for log collectors
    "CLOUD_WORKER_NAMESPACE": "batch",  # the release namespace
}


@pytest.mark.parametrize("case", CASES)
def test_every_worker_setting_reaches_the_container(
    renders: dict[str, Render], worker_settings: list[dict[str, Any]], case: str
) -> None:
    """The ConfigMap holds every non-secret setting of the worker's table; the secret ones come
    from Secrets, the replica's id from the pod's name."""
    render = renders[case]
    variables = {setting["variable"] for setting in worker_settings}
    assert len(variables) > 20, worker_settings
    config_map = render.one("ConfigMap")
    assert set(config_map["data"]) == variables - SECRET_VARIABLES - {"CLOUD_WORKER_ID"}
    container = worker_container(render)
    assert container["envFrom"] == [{"configMapRef": {"name": config_map["metadata"]["name"]}}]
    from_secrets = {e["name"]: e["valueFrom"]["secretKeyRef"]
                    for e in container["env"] if "secretKeyRef" in e.get("valueFrom", {})}
    configured = {"CLOUD_WORKER_STATUS_TOKEN"} if values_of(case)["worker"]["statusToken"]["existingSecret"] else set()
    assert set(from_secrets) & SECRET_VARIABLES == ALWAYS_SECRET_VARIABLES | configured
    assert not [e for e in container["env"] if e["name"] in SECRET_VARIABLES and "value" in e]
    assert {"name": "CLOUD_WORKER_ID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}} in container["env"]


def test_the_charts_defaults_are_the_workers(renders: dict[str, Render], worker_settings: list[dict[str, Any]]) -> None:
    """Each value the chart renders by default is the worker's own default, left empty (the
    worker's default then), or one of the chart's deliberate overrides."""
    data = renders["default"].one("ConfigMap")["data"]
    differing = {}
    for setting in worker_settings:
        variable = setting["variable"]
        if variable not in data or data[variable] == "" or variable in CHART_OVERRIDES:
            continue
        if data[variable] != setting.get("default"):
            differing[variable] = (data[variable], setting.get("default"))
    assert differing == {}
    assert {v: data[v] for v in CHART_OVERRIDES} == CHART_OVERRIDES


def values_of(case: str) -> dict[str, Any]:
    """The values of a render case, the chart's defaults under the case's own (maps merged)."""

    def merge(base: Any, over: Any) -> Any:
        if isinstance(base, dict) and isinstance(over, dict):
            return {**base, **{k: merge(base.get(k), v) for k, v in over.items()}}
        return over

    values_path = RENDER_CASES[case][0]
    return merge(load_yaml(CHART / "values.yaml"), load_yaml(values_path) if values_path else {})  # type: ignore[no-any-return]


def start_worker_with(settings: dict[str, str], seconds: float = 30) -> tuple[bool, str]:
    """Runs the worker binary with `settings` as its environment, until it has read them: (whether
    it took them, its log). Taken: it goes on to the broker (unreachable here, so it retries);
    refused: it exits with status 2 and logs "invalid configuration". The API server, the broker
    and the files of the rendered settings are pointed at nothing: only the settings are tested."""
    binary = worker_binary()
    if not os.access(binary, os.X_OK):
        pytest.fail(f"{binary} is missing: build it with `swift build` (or set CLOUD_WORKER_BIN)", pytrace=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUD_WORKER_", "AWS_"))}
    env.update(settings)
    env.update({
        "CLOUD_WORKER_KUBE_SERVER": "http://127.0.0.1:9", "CLOUD_WORKER_KUBECONFIG": "",
        "CLOUD_WORKER_KUBE_TOKEN_FILE": "", "CLOUD_WORKER_KUBE_CA_FILE": "",
        "CLOUD_WORKER_AMQP_CA_FILE": "", "CLOUD_WORKER_S3_CA_FILE": "",
        "CLOUD_WORKER_AMQP_URL": "amqp://user:password@127.0.0.1:9/%2F",
        "CLOUD_WORKER_S3_ACCESS_KEY_ID": "key", "CLOUD_WORKER_S3_SECRET_ACCESS_KEY": "secret",
        "CLOUD_WORKER_STATUS_TOKEN": "token", "CLOUD_WORKER_HTTP_PORT": "0", "CLOUD_WORKER_LOG_FORMAT": "json",
    })
    process = subprocess.Popen([str(binary)], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    log: list[str] = []
    timer = threading.Timer(seconds, process.kill)
    timer.start()
    try:
        assert process.stdout is not None
        for line in process.stdout:
            log.append(line)
            if "invalid configuration" in line:
                return False, "".join(log)
            if "AMQP connection failed" in line:
                return True, "".join(log)
        return False, "".join(log) + f"\n(exit status {process.wait()})"
    finally:
        timer.cancel()
        process.kill()
        process.wait()


@pytest.mark.parametrize("case", CASES)
def test_the_worker_takes_the_rendered_settings(renders: dict[str, Render], case: str) -> None:
    """The ConfigMap's values parse as the worker reads them (lists, name=quantity and
    pattern=Secret pairs, numbers, switches), and fit each other (default resources within the
    maximums)."""
    data = renders[case].one("ConfigMap")["data"]
    took, log = start_worker_with(data)
    assert took, log
    # The check can fail: a value the worker cannot read stops it.
    took, log = start_worker_with({**data, "CLOUD_WORKER_BUCKET_CREDENTIALS": "team-a-*"})
    assert not took and "CLOUD_WORKER_BUCKET_CREDENTIALS" in log, log


def test_the_worker_refuses_default_resources_above_the_maximums(tools: Tools) -> None:
    """The schema checks each quantity; that the defaults fit the maximums is the worker's check
    at start, on the rendered values."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as values:
        yaml.safe_dump({"worker": {"maxResources": {"cpu": "2", "memory": "4Gi"},
                                   "defaultResourceLimits": {"memory": "8Gi"}}}, values)
        values.flush()
        rendered = render_chart(tools, Path(values.name), "x", "cloud-worker")
    data = next(o for o in yaml.safe_load_all(rendered["manifest"]) if o and o["kind"] == "ConfigMap")["data"]
    assert data["CLOUD_WORKER_MAX_RESOURCES"] == "cpu=2,memory=4Gi"
    took, log = start_worker_with(data)
    assert not took and "the default resources do not fit the maximums" in log, log


def test_default_settings(renders: dict[str, Render]) -> None:
    data = renders["default"].one("ConfigMap")["data"]
    assert data["CLOUD_WORKER_NAMESPACE"] == "batch"  # the release namespace
    assert data["CLOUD_WORKER_LOG_FORMAT"] == "json"
    # The Jobs' pods get a Secret of their own, never the worker's S3 Secret by default.
    assert data["CLOUD_WORKER_S3_CREDENTIALS_SECRET"] == "cloud-worker-job-s3"
    assert data["CLOUD_WORKER_JOB_TTL_SECONDS"] == "3600"
    # Empty: the worker's own defaults (its maximums, no default resources, every bucket).
    assert data["CLOUD_WORKER_MAX_RESOURCES"] == ""
    assert data["CLOUD_WORKER_DEFAULT_RESOURCE_REQUESTS"] == data["CLOUD_WORKER_DEFAULT_RESOURCE_LIMITS"] == ""
    assert data["CLOUD_WORKER_ALLOWED_BUCKETS"] == data["CLOUD_WORKER_BUCKET_CREDENTIALS"] == ""
    assert data["CLOUD_WORKER_REQUIRE_IMAGE_DIGEST"] == "false"
    assert data["CLOUD_WORKER_CANCEL_SCOPE"] == "producer"
    assert data["CLOUD_WORKER_MAX_REQUEST_BYTES"] == "1048576" and data["CLOUD_WORKER_MAX_DELIVERIES"] == "5"
    env = {e["name"]: e["valueFrom"].get("secretKeyRef") for e in worker_container(renders["default"])["env"]}
    assert env["CLOUD_WORKER_AMQP_URL"] == {"name": "cloud-worker-amqp", "key": "url"}
    assert env["CLOUD_WORKER_S3_ACCESS_KEY_ID"] == {"name": "cloud-worker-s3", "key": "AWS_ACCESS_KEY_ID"}
    assert env["CLOUD_WORKER_S3_SECRET_ACCESS_KEY"] == {"name": "cloud-worker-s3", "key": "AWS_SECRET_ACCESS_KEY"}
    # No token: the jobs API and page are open.
    assert "CLOUD_WORKER_STATUS_TOKEN" not in env


def test_custom_settings_take_effect(renders: dict[str, Render]) -> None:
    render = renders["custom"]
    values = custom_values()
    data = render.one("ConfigMap")["data"]
    assert data == {
        "CLOUD_WORKER_REQUEST_EXCHANGE": "batch",
        "CLOUD_WORKER_REQUEST_QUEUE": "batch.requests",
        "CLOUD_WORKER_REQUEST_ROUTING_KEY": "batch.requests.key",
        "CLOUD_WORKER_DEAD_LETTER_QUEUE": "batch.dead-letter",
        "CLOUD_WORKER_REPLY_QUEUE": "batch.replies",
        "CLOUD_WORKER_PREFETCH": "8",
        "CLOUD_WORKER_AMQP_HEARTBEAT": "15",
        "CLOUD_WORKER_AMQP_CA_FILE": "/etc/cloud-worker/broker-ca/ca.crt",
        "CLOUD_WORKER_KUBECONFIG": "/etc/cloud-worker/kubeconfig/config",
        "CLOUD_WORKER_KUBE_CONTEXT": "batch-cluster",
        "CLOUD_WORKER_KUBE_SERVER": "https://kubernetes.default.svc",
        "CLOUD_WORKER_KUBE_TOKEN_FILE": "/var/run/secrets/kubernetes.io/serviceaccount/token",
        "CLOUD_WORKER_KUBE_CA_FILE": "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
        "CLOUD_WORKER_NAMESPACE": "batch-jobs",
        "CLOUD_WORKER_S3_ENDPOINT": "https://s3.eu-west-1.amazonaws.com",
        "CLOUD_WORKER_S3_REGION": "eu-west-1",
        "CLOUD_WORKER_S3_PATH_STYLE": "false",
        "CLOUD_WORKER_S3_CA_FILE": "/etc/cloud-worker/s3-ca/ca.crt",
        "CLOUD_WORKER_JOB_S3_ENDPOINT": "https://s3.eu-west-1.amazonaws.com",
        "CLOUD_WORKER_S3_CREDENTIALS_SECRET": "batch-jobs-s3",
        "CLOUD_WORKER_LOG_KEY_TEMPLATE": "{prefix}-{job}.log",
        "CLOUD_WORKER_DEFAULT_TIMEOUT_MINUTES": "30",
        "CLOUD_WORKER_MAX_TIMEOUT_MINUTES": "600",
        "CLOUD_WORKER_MAX_PARALLELISM": "4",
        "CLOUD_WORKER_ALLOWED_IMAGE_PREFIXES": "registry.example.com/jobs/,cloud-worker/",
        "CLOUD_WORKER_REQUIRE_IMAGE_DIGEST": "true",
        "CLOUD_WORKER_MAX_RESOURCES": "cpu=8,ephemeral-storage=50Gi,example.com/fpga=2,memory=32Gi",
        "CLOUD_WORKER_DEFAULT_RESOURCE_REQUESTS": "cpu=250m,memory=512Mi",
        "CLOUD_WORKER_DEFAULT_RESOURCE_LIMITS": "memory=1Gi",
        "CLOUD_WORKER_MAX_REQUEST_BYTES": "262144",
        "CLOUD_WORKER_MAX_JSON_DEPTH": "16",
        "CLOUD_WORKER_MAX_ENV_ENTRIES": "40",
        "CLOUD_WORKER_MAX_TASKS": "200",
        "CLOUD_WORKER_MAX_DELIVERIES": "3",
        "CLOUD_WORKER_CANCEL_SCOPE": "any",
        "CLOUD_WORKER_ALLOWED_BUCKETS": "batch-*,team-?-data",
        # In the order given: the first match wins.
        "CLOUD_WORKER_BUCKET_CREDENTIALS": "batch-team-a-*=team-a-s3,team-?-data=shared-data-s3",
        "CLOUD_WORKER_JOB_TTL_SECONDS": "7200",
        "CLOUD_WORKER_FINISHED_JOB_RETENTION_SECONDS": "120",
        "CLOUD_WORKER_STUCK_POD_GRACE_SECONDS": "300",
        "CLOUD_WORKER_CLAIM_TIMEOUT_SECONDS": "90",
        "CLOUD_WORKER_ARCHIVE_PATIENCE_SECONDS": "1200",
        "CLOUD_WORKER_SHUTDOWN_GRACE_SECONDS": "45",
        "CLOUD_WORKER_IMAGE_PULL_SECRETS": "jobs-registry,mirror-registry",
        "CLOUD_WORKER_RUN_AS_NON_ROOT": "true",
        "CLOUD_WORKER_NODE_SELECTOR": "kubernetes.io/arch=amd64,pool=batch",
        "CLOUD_WORKER_TOLERATIONS": '[{"effect":"NoSchedule","key":"dedicated","operator":"Equal","value":"batch"}]',
        "CLOUD_WORKER_HTTP_PORT": "9091",
        "CLOUD_WORKER_HTTP_HOST": "::",
        "CLOUD_WORKER_LOG_FORMAT": "text",
        "CLOUD_WORKER_LOG_LEVEL": "debug",
    }
    deployment = worker_deployment(render)
    pod_spec = deployment["spec"]["template"]["spec"]
    container = worker_container(render)
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["revisionHistoryLimit"] == 3
    # The digest pins the image; the tag is then left out.
    assert container["image"] == f"registry.example.com/platform/cloud-worker@{values['image']['digest']}"
    assert container["imagePullPolicy"] == "Always"
    assert container["resources"] == values["resources"]
    assert pod_spec["imagePullSecrets"] == [{"name": "registry-example"}]
    assert pod_spec["priorityClassName"] == "batch-high"
    assert pod_spec["nodeSelector"] == values["nodeSelector"]
    assert pod_spec["tolerations"] == values["tolerations"]
    assert pod_spec["affinity"] == values["affinity"]
    assert pod_spec["terminationGracePeriodSeconds"] == 60
    assert {"name": "broker-ca", "configMap": {"name": "broker-ca"}} in pod_spec["volumes"]
    assert values["extraVolumeMounts"][0] in container["volumeMounts"]
    assert values["extraEnv"][0] in container["env"]
    assert container["livenessProbe"]["periodSeconds"] == 20
    assert container["readinessProbe"]["failureThreshold"] == 4
    assert deployment["spec"]["template"]["metadata"]["annotations"]["example.com/team"] == "data"
    assert deployment["spec"]["template"]["metadata"]["labels"]["example.com/tier"] == "batch"
    env = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef") for e in container["env"]}
    assert env["CLOUD_WORKER_AMQP_URL"] == {"name": "batch-worker-amqp", "key": "url"}
    assert env["CLOUD_WORKER_S3_ACCESS_KEY_ID"] == {"name": "batch-worker-s3", "key": "ACCESS_KEY_ID"}
    assert env["CLOUD_WORKER_STATUS_TOKEN"] == {"name": "batch-worker-status", "key": "bearer"}
    monitor = render.one("ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "15s", "scrapeTimeout": "5s"}]
    service = render.one("Service", "batch-worker")
    assert service["spec"]["type"] == "NodePort" and service["spec"]["ports"][0]["port"] == 9090
    assert service["metadata"]["annotations"]["example.com/owner"] == "platform"
    assert render.one("ServiceAccount")["metadata"]["annotations"] == {"iam.example.com/role": "batch-worker"}
    rabbit = render.one("Deployment", "batch-worker-rabbitmq")["spec"]["template"]["spec"]["containers"][0]
    assert rabbit["image"] == "registry.example.com/mirror/rabbitmq:3.13.7"
    minio = render.one("Deployment", "batch-worker-minio")["spec"]["template"]["spec"]["containers"][0]
    assert minio["image"] == "registry.example.com/mirror/minio:RELEASE.2025-01-01T00-00-00Z"
    assert {e["name"]: e.get("valueFrom", {}).get("secretKeyRef") for e in minio["env"]}["MINIO_ROOT_USER"] == {
        "name": "batch-worker-s3", "key": "ACCESS_KEY_ID"}


def test_secrets_only_in_secrets(renders: dict[str, Render]) -> None:
    """No secret value of the custom values appears in the ConfigMap, or anywhere but a Secret."""
    render = renders["custom"]
    values = custom_values()
    url = values["amqp"]["url"]
    secrets = [
        url,
        re.search(r"://[^:]+:([^@]+)@", url).group(1),  # type: ignore[union-attr]
        values["s3"]["accessKeyId"],
        values["s3"]["secretAccessKey"],
        values["dev"]["rabbitmq"]["password"],
    ]
    config_map_text = json.dumps(render.one("ConfigMap"))
    for secret in secrets:
        assert secret not in config_map_text
        for obj in render.objects:
            if obj["kind"] != "Secret":
                assert secret not in json.dumps(obj), f"{obj['kind']}/{obj['metadata']['name']} holds a secret"
    secret_values = {
        base64.b64decode(v).decode() for s in render.of_kind("Secret") for v in s.get("data", {}).values()
    }
    assert url in secret_values
    assert values["s3"]["accessKeyId"] in secret_values and values["s3"]["secretAccessKey"] in secret_values


def test_dev_broker_url_points_at_the_dev_broker(tools: Tools) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as values:
        yaml.safe_dump({"amqp": {"existingSecret": ""}, "dev": {"rabbitmq": {"enabled": True, "password": "p@ss word"}}}, values)
        values.flush()
        rendered = render_chart(tools, Path(values.name), "dev", "demo")
    objects = [o for o in yaml.safe_load_all(rendered["manifest"]) if o]
    secret = next(o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == "demo-cloud-worker-amqp")
    url = base64.b64decode(secret["data"]["url"]).decode()
    assert url == "amqp://cloud-worker:p%40ss+word@demo-cloud-worker-rabbitmq.dev.svc:5672/%2F"


def test_large_numbers_stay_integers(tools: Tools) -> None:
    """Helm reads numbers from values files as floats; the worker wants integers."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as values:
        yaml.safe_dump({"worker": {"jobTTLSeconds": 10_000_000, "maxTimeoutMinutes": 5_000_000}}, values)
        values.flush()
        rendered = render_chart(tools, Path(values.name), "x", "cloud-worker")
    data = next(o for o in yaml.safe_load_all(rendered["manifest"]) if o and o["kind"] == "ConfigMap")["data"]
    assert data["CLOUD_WORKER_JOB_TTL_SECONDS"] == "10000000"
    assert data["CLOUD_WORKER_MAX_TIMEOUT_MINUTES"] == "5000000"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"terminationGracePeriodSeconds": 25}, "terminationGracePeriodSeconds must exceed worker.shutdownGraceSeconds"),
        ({"worker": {"shutdownGraceSeconds": 40}}, "terminationGracePeriodSeconds must exceed worker.shutdownGraceSeconds"),
        ({"worker": {"httpPort": 0}}, "worker.httpPort must not be 0"),
        ({"amqp": {"existingSecret": ""}}, "amqp: set amqp.existingSecret"),
        ({"s3": {"existingSecret": ""}}, "s3: set s3.existingSecret"),
        # No fallback to the worker's own S3 Secret: the pods' Secret is always named.
        ({"s3": {"jobCredentialsSecret": None}}, "s3.jobCredentialsSecret: name the Secret"),
    ],
)
def test_chart_refuses_unsafe_or_incomplete_values(tools: Tools, values: dict[str, Any], message: str) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump(values, f)
        f.flush()
        result = helm_engine(tools, "render", str(CHART), "--values", f.name)
    assert result.returncode != 0
    assert message in result.stderr


def test_notes_say_how_to_reach_the_worker(renders: dict[str, Render]) -> None:
    notes = renders["custom"].notes
    assert "port-forward service/batch-worker 9090:9090" in notes
    assert 'Secret "batch-worker-amqp"' in notes and 'Secret "batch-jobs-s3" in namespace "batch-jobs"' in notes
    assert 'buckets "batch-team-a-*": Secret "team-a-s3"' in notes and 'buckets "team-?-data": Secret "shared-data-s3"' in notes
    assert 'Secret "batch-worker-status", key "bearer"' in notes and "Authorization: Bearer" in notes
    assert 'Secret "cloud-worker-job-s3" in namespace "batch"' in renders["default"].notes
    assert "Bearer" not in renders["default"].notes
    assert "batch-worker-rabbitmq 5672:5672" in notes and "batch-worker-minio 9000:9000" in notes
    assert "rollout status deployment/cloud-worker" in renders["default"].notes
    assert "helm test cloud-worker -n batch --logs" in renders["default"].notes


# MARK: - values and their documentation


def test_values_custom_sets_every_value() -> None:
    defaults = leaf_paths(load_yaml(CHART / "values.yaml"))
    custom = leaf_paths(custom_values())
    missing = [p for p in defaults if p not in custom and not any(c.startswith(p + ".") for c in custom)]
    assert not missing, f"values-custom.yaml does not set: {missing}"
    # Maps documented as a whole (resources, nodeSelector, ...) take keys of their own.
    rows = readme_value_rows()
    unknown = [p for p in custom if not any(p == r or p.startswith(r + ".") for r in rows)]
    assert not unknown, f"values-custom.yaml sets values the chart does not have: {unknown}"
    # Switches that stay on so that the custom render holds what they make.
    kept_on = ("serviceAccount.create", "rbac.create", "finalizerCleanup.enabled", "tests.enabled")
    same = [p for p in defaults if p in custom and custom[p] == defaults[p] and p not in kept_on]
    same = [p for p in same if not p.startswith(("podSecurityContext.", "securityContext."))]
    assert not same, f"values-custom.yaml keeps the defaults of: {same}"


def readme_value_rows() -> dict[str, str]:
    rows = {}
    for line in (CHART / "README.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"\|\s*`([A-Za-z0-9_.]+)`\s*\|(.*)\|", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def values_key_comments() -> dict[str, bool]:
    """Dotted path of every key of values.yaml -> whether a comment line sits right above it."""
    out: dict[str, bool] = {}
    stack: list[tuple[int, str]] = []
    previous = ""
    for line in (CHART / "values.yaml").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^(\s*)([A-Za-z0-9_]+):", line)
        if match:
            indent = len(match.group(1))
            while stack and stack[-1][0] >= indent:
                stack.pop()
            path = ".".join([k for _, k in stack] + [match.group(2)])
            out[path] = previous.lstrip().startswith("#")
            stack.append((indent, match.group(2)))
        if line.strip():
            previous = line
    return out


def test_every_value_is_documented() -> None:
    rows = readme_value_rows()
    commented = values_key_comments()
    leaves = leaf_paths(load_yaml(CHART / "values.yaml"))
    undocumented = [p for p in leaves if not any(p == r or p.startswith(r + ".") for r in rows)]
    assert not undocumented, f"not in the chart README's table: {undocumented}"
    stale = [r for r in rows if r not in commented]
    assert not stale, f"the chart README documents values the chart does not have: {stale}"
    uncommented = [r for r in rows if not commented[r]]
    assert not uncommented, f"values.yaml has no comment above: {uncommented}"


# MARK: - the Kubernetes simulator


def test_simulator_stores_the_rendered_config_and_secrets(renders: dict[str, Render], kube_service: str) -> None:
    """The ConfigMap and Secrets the chart renders are accepted by an API server that rejects
    unknown fields (fieldValidation=Strict), and read back unchanged."""
    namespace = f"deploy-{uuid.uuid4().hex[:8]}"
    status, body = kube_call(kube_service, "POST", "/api/v1/namespaces",
                             {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    assert status == 201, body
    try:
        objects = [o for o in renders["custom"].objects if o["kind"] in ("ConfigMap", "Secret")]
        assert len(objects) == 4
        for obj in objects:
            resource = {"ConfigMap": "configmaps", "Secret": "secrets"}[obj["kind"]]
            sent = copy.deepcopy(obj)
            sent["metadata"]["namespace"] = namespace
            path = f"/api/v1/namespaces/{namespace}/{resource}"
            status, body = kube_call(kube_service, "POST", f"{path}?fieldValidation=Strict", sent)
            assert status == 201, f"{obj['kind']}/{obj['metadata']['name']}: HTTP {status} {body}"
            status, stored = kube_call(kube_service, "GET", f"{path}/{obj['metadata']['name']}")
            assert status == 200
            assert stored.get("data") == obj["data"]
            assert stored["metadata"]["labels"] == obj["metadata"]["labels"]
        # The same server turns down a field it does not know.
        wrong = copy.deepcopy(renders["custom"].one("ConfigMap"))
        wrong["metadata"].update(namespace=namespace, name="wrong")
        wrong["datta"] = {}
        status, body = kube_call(kube_service, "POST", f"/api/v1/namespaces/{namespace}/configmaps?fieldValidation=Strict", wrong)
        assert status == 400 and "datta" in str(body)
    finally:
        kube_call(kube_service, "DELETE", f"/api/v1/namespaces/{namespace}")
