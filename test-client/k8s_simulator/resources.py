"""The resource types the simulator serves, with what discovery says about each."""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class Resource:
    """One REST resource (`jobs` in `batch/v1`, `pods` in core `v1`, ...)."""

    plural: str
    singular: str
    kind: str
    group: str  # "" for the core group
    version: str
    namespaced: bool = True
    verbs: tuple[str, ...] = tuple(ALL_VERBS)
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    schema: str = ""  # OpenAPI schema name of the kind
    has_status: bool = False  # status is written only through /status
    field_labels: tuple[str, ...] = field(default=("metadata.name", "metadata.namespace"))

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def key(self) -> str:
        """Store key: `jobs.batch`, `pods`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


JOBS = Resource(
    "jobs", "job", "Job", "batch", "v1",
    categories=("all",), subresources=("status",),
    schema="io.k8s.api.batch.v1.Job", has_status=True,
    field_labels=("metadata.name", "metadata.namespace", "status.successful"),
)
PODS = Resource(
    "pods", "pod", "Pod", "", "v1",
    short_names=("po",), categories=("all",), subresources=("log", "status"),
    schema="io.k8s.api.core.v1.Pod", has_status=True,
    field_labels=(
        "metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy",
        "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
        "status.podIP", "status.nominatedNodeName",
    ),
)
CONFIGMAPS = Resource(
    "configmaps", "configmap", "ConfigMap", "", "v1",
    short_names=("cm",), schema="io.k8s.api.core.v1.ConfigMap",
)
SECRETS = Resource(
    "secrets", "secret", "Secret", "", "v1",
    schema="io.k8s.api.core.v1.Secret",
    field_labels=("metadata.name", "metadata.namespace", "type"),
)
NAMESPACES = Resource(
    "namespaces", "namespace", "Namespace", "", "v1", namespaced=False,
    verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
    short_names=("ns",), subresources=("status",), schema="io.k8s.api.core.v1.Namespace",
    field_labels=("metadata.name", "status.phase"),
)
EVENTS = Resource(
    "events", "event", "Event", "", "v1", short_names=("ev",),
    schema="io.k8s.api.core.v1.Event",
)

ALL: tuple[Resource, ...] = (JOBS, PODS, CONFIGMAPS, SECRETS, NAMESPACES, EVENTS)
CORE: tuple[Resource, ...] = tuple(r for r in ALL if r.group == "")
BATCH: tuple[Resource, ...] = tuple(r for r in ALL if r.group == "batch")


def lookup(group: str, version: str, plural: str) -> Resource | None:
    for r in ALL:
        if r.group == group and r.version == version and r.plural == plural:
            return r
    return None


BY_KEY: dict[str, Resource] = {r.key: r for r in ALL}
