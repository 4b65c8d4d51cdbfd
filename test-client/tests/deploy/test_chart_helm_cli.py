"""The chart through the real `helm` binary (Helm v4, see deploy_support.HELM_PACKAGE): `helm
lint --strict`, `helm template` giving the same objects as the engine's install, and the values
schema turning down bad values in both."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_support import CHART, CUSTOM_VALUES, HELM_VERSION, RENDER_CASES, Render, Tools, helm_engine

CASES = list(RENDER_CASES)


@contextmanager
def values_file(values: dict[str, Any]) -> Iterator[str]:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump(values, f)
        f.flush()
        yield f.name


def values_args(values: Path | str | None) -> list[str]:
    return ["--values", str(values)] if values else []


def test_helm_is_the_pinned_release(tools: Tools) -> None:
    result = tools.helm("version", "--short")
    assert result.returncode == 0 and result.stdout.startswith(HELM_VERSION), result.stdout + result.stderr


@pytest.mark.parametrize("case", CASES)
def test_helm_lint_strict(tools: Tools, case: str) -> None:
    values, _, _ = RENDER_CASES[case]
    result = tools.helm("lint", "--strict", str(CHART), *values_args(values))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout
    assert "[WARNING]" not in result.stdout and "[ERROR]" not in result.stdout, result.stdout


@pytest.mark.parametrize("case", CASES)
def test_helm_template_renders_what_the_engine_installs(tools: Tools, renders: dict[str, Render], case: str) -> None:
    """`helm template` prints the installed objects and the hooks (tests included): the same
    objects, field for field, as the engine's install and its release's hooks."""
    values, namespace, release = RENDER_CASES[case]
    result = tools.helm("template", release, str(CHART), "--namespace", namespace, *values_args(values))
    assert result.returncode == 0, result.stderr
    printed = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    key = lambda o: (o["kind"], o["metadata"]["namespace"], o["metadata"]["name"])  # noqa: E731
    render = renders[case]
    assert sorted(printed, key=key) == sorted(render.objects + render.hooks, key=key)


# A value of the wrong type, an unknown key (a typo), a bad format: each names its value.
BAD_VALUES = [
    ({"replicaCount": "two"}, "replicaCount"),
    ({"replicaCount": -1}, "replicaCount"),
    ({"replicacount": 2}, "replicacount"),
    ({"image": {"digest": "latest"}}, "digest"),
    ({"image": {"pullPolicy": "Sometimes"}}, "pullPolicy"),
    ({"commonLabels": {"team": 7}}, "team"),
    ({"startupProbe": {"periodSeconds": 0}}, "periodSeconds"),
    ({"topologySpreadConstraints": [{"maxSkew": 1}]}, "topologyKey"),
    ({"podDisruptionBudget": {"maxUnavailable": "half"}}, "maxUnavailable"),
    ({"service": {"type": "Ingress"}}, "type"),
    ({"service": {"prometheusAnnotations": "yes"}}, "prometheusAnnotations"),
    ({"networkPolicy": {"ingressFrom": {"podSelector": {}}}}, "ingressFrom"),
    ({"worker": {"logFormat": "xml"}}, "logFormat"),
    ({"worker": {"httpPort": 70000}}, "httpPort"),
    ({"amqp": {"url": "http://broker:5672"}}, "url"),
    ({"s3": {"endpoint": "s3.example.com"}}, "endpoint"),
    ({"finalizerCleanup": {"image": {"tag": "", "digest": ""}}}, "finalizerCleanup"),
    ({"tests": {"bucket": "Not_A_Bucket"}}, "bucket"),
    ({"tests": {"jobCommand": "echo hi"}}, "jobCommand"),
    ({"worker": {"allowedImagePrefixes": ["registry.example.com,evil.io"]}}, "allowedImagePrefixes"),
    ({"worker": {"requireImageDigest": "yes"}}, "requireImageDigest"),
    ({"worker": {"maxResources": {"cpu": "lots"}}}, "maxResources"),
    ({"worker": {"maxResources": {"cpu=8,memory": "1"}}}, "cpu=8,memory"),  # a key that would break name=quantity,...
    ({"worker": {"maxResources": {"memory": -1}}}, "maxResources"),
    ({"worker": {"maxResources": ["cpu=4"]}}, "maxResources"),
    ({"worker": {"defaultResourceRequests": {"cpu": "1 core"}}}, "defaultResourceRequests"),
    ({"worker": {"defaultResourceLimits": {"memory": "1GB"}}}, "defaultResourceLimits"),
    ({"worker": {"maxRequestBytes": 0}}, "maxRequestBytes"),
    ({"worker": {"maxJSONDepth": 0}}, "maxJSONDepth"),
    ({"worker": {"maxEnvEntries": -1}}, "maxEnvEntries"),
    ({"worker": {"maxTasks": "many"}}, "maxTasks"),
    ({"worker": {"maxDeliveries": 0}}, "maxDeliveries"),
    ({"worker": {"cancelScope": "everyone"}}, "cancelScope"),
    ({"worker": {"allowedBuckets": ["Team_A"]}}, "allowedBuckets"),
    ({"worker": {"allowedBuckets": "team-*"}}, "allowedBuckets"),
    ({"worker": {"bucketCredentials": [{"bucket": "team-a-*"}]}}, "secret"),
    ({"worker": {"bucketCredentials": [{"bucket": "team-a-*", "secret": "Team_A"}]}}, "secret"),
    ({"worker": {"bucketCredentials": [{"bucket": "a=b", "secret": "team-a-s3"}]}}, "bucket"),
    ({"worker": {"bucketCredentials": [{"bucket": "team-a-*", "secret": "team-a-s3", "key": "x"}]}}, "key"),
    ({"worker": {"bucketCredentials": {"team-a-*": "team-a-s3"}}}, "bucketCredentials"),
    ({"worker": {"statusToken": {"existingSecret": "Status Token"}}}, "existingSecret"),
    ({"worker": {"statusToken": {"existingSecretKey": ""}}}, "existingSecretKey"),
    ({"worker": {"statusToken": {"secret": "status"}}}, "secret"),
    ({"s3": {"jobCredentialsSecret": ""}}, "jobCredentialsSecret"),
]


@pytest.mark.parametrize(("values", "named"), BAD_VALUES, ids=[named for _, named in BAD_VALUES])
def test_schema_turns_down_bad_values(tools: Tools, values: dict[str, Any], named: str) -> None:
    """helm template, helm lint and the engine's install all refuse, naming the value."""
    with values_file(values) as path:
        template = tools.helm("template", "cloud-worker", str(CHART), "--values", path)
        lint = tools.helm("lint", "--strict", str(CHART), "--values", path)
        engine = helm_engine(tools, "render", str(CHART), "--values", path)
    assert template.returncode != 0 and "values don't meet the specifications of the schema" in template.stderr
    assert named in template.stderr, template.stderr
    assert lint.returncode != 0, lint.stdout
    assert engine.returncode != 0 and named in engine.stderr, engine.stderr


GOOD_VALUES = [
    {"podDisruptionBudget": {"enabled": True, "maxUnavailable": "25%"}},
    {"podDisruptionBudget": {"enabled": True, "minAvailable": 1}},
    {"networkPolicy": {"enabled": True}},
    {"image": {"digest": "sha256:" + "a" * 64}},
    {"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                    "whenUnsatisfiable": "DoNotSchedule"}]},
    {"global": {"imageRegistry": "registry.example.com"}},  # what a parent chart passes down
    {"worker": {"allowedImagePrefixes": ["registry.example.com", "localhost:5000/team"], "requireImageDigest": True,
                "maxResources": {"cpu": 2, "memory": "8Gi", "nvidia.com/gpu": "1", "ephemeral-storage": "1e10"},
                "defaultResourceRequests": {"cpu": "500m", "memory": 1073741824}, "defaultResourceLimits": {"cpu": 1.5},
                "maxRequestBytes": 65536, "maxJSONDepth": 8, "maxEnvEntries": 0, "maxTasks": 1, "maxDeliveries": 1,
                "cancelScope": "any", "allowedBuckets": ["team-?-*", "shared.logs"],
                "bucketCredentials": [{"bucket": "team-a-*", "secret": "team-a-s3"}, {"bucket": "*", "secret": "all.s3"}],
                "statusToken": {"existingSecret": "cloud-worker-status", "existingSecretKey": "bearer.token"}},
     "s3": {"jobCredentialsSecret": "cloud-worker-s3"}},
]


@pytest.mark.parametrize("values", GOOD_VALUES, ids=lambda v: next(iter(v)))
def test_schema_accepts_good_values(tools: Tools, values: dict[str, Any], validate: Any) -> None:
    with values_file(values) as path:
        result = tools.helm("template", "cloud-worker", str(CHART), "--namespace", "x", "--values", path)
    assert result.returncode == 0, result.stderr
    objects = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert not [r for r in validate(objects) if r["errors"]]


def test_pdb_takes_min_available_or_max_unavailable(tools: Tools, renders: dict[str, Render]) -> None:
    def pdb_spec(settings: dict[str, Any]) -> dict[str, Any]:
        with values_file({"podDisruptionBudget": {"enabled": True, **settings}}) as path:
            result = tools.helm("template", "cloud-worker", str(CHART), "--values", path,
                                "--show-only", "templates/poddisruptionbudget.yaml")
        assert result.returncode == 0, result.stderr
        spec: dict[str, Any] = yaml.safe_load(result.stdout)["spec"]
        return spec

    default = pdb_spec({})
    assert default["maxUnavailable"] == 1 and "minAvailable" not in default
    zero = pdb_spec({"minAvailable": 0})
    assert zero["minAvailable"] == 0 and "maxUnavailable" not in zero
    custom = renders["custom"].one("PodDisruptionBudget")["spec"]
    assert custom["minAvailable"] == "50%" and "maxUnavailable" not in custom
    assert not renders["default"].of_kind("PodDisruptionBudget")


def test_topology_spread_gets_the_worker_selector(renders: dict[str, Render]) -> None:
    """An entry without labelSelector gets the worker pods' selector labels; one with keeps it."""
    deployment = renders["custom"].one("Deployment", "batch-worker")
    selector = deployment["spec"]["selector"]["matchLabels"]
    spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
    values = yaml.safe_load(CUSTOM_VALUES.read_text(encoding="utf-8"))["topologySpreadConstraints"]
    assert spread[0] == {**values[0], "labelSelector": {"matchLabels": selector}}
    assert spread[1] == values[1]


def test_startup_probe(renders: dict[str, Render]) -> None:
    container = renders["default"].one("Deployment", "cloud-worker")["spec"]["template"]["spec"]["containers"][0]
    assert container["startupProbe"] == {"httpGet": {"path": "/healthz", "port": "http"}, "initialDelaySeconds": 0,
                                         "periodSeconds": 2, "timeoutSeconds": 2, "failureThreshold": 30}
    custom = renders["custom"].one("Deployment", "batch-worker")["spec"]["template"]["spec"]["containers"][0]
    assert "startupProbe" not in custom  # startupProbe.enabled=false


def test_network_policy(renders: dict[str, Render]) -> None:
    """Ingress to the status port only; with allowExternalEgress=false, egress is DNS and the
    listed rules."""
    assert not renders["default"].of_kind("NetworkPolicy")
    render = renders["custom"]
    policy = render.one("NetworkPolicy")["spec"]
    values = yaml.safe_load(CUSTOM_VALUES.read_text(encoding="utf-8"))["networkPolicy"]
    assert policy["podSelector"] == render.one("Deployment", "batch-worker")["spec"]["selector"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert policy["ingress"] == [{"ports": [{"port": "http", "protocol": "TCP"}], "from": values["ingressFrom"]}]
    dns = {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
    assert policy["egress"] == [dns, *values["extraEgress"]]
