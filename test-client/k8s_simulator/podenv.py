"""What a pod's container is started with: command line, environment and volumes, resolved
as the kubelet does (`$(VAR)` expansion, `valueFrom`, `envFrom`, ConfigMap/Secret volumes), plus
the simulator's rewriting of mount paths to directories in the pod sandbox."""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path

from .images import Image
from .resources import CONFIGMAPS, SECRETS
from .store import Store
from .util import JSON, get_path

NODE_NAME = "sim-node-1"
NODE_IP = "127.0.0.1"


class ConfigError(Exception):
    """The container cannot be created yet (missing Secret, ConfigMap or key)."""


class MountError(Exception):
    """A volume cannot be set up yet (missing ConfigMap or Secret)."""


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion: `$$` escapes, unknown references stay as written."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "$" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "(":
                end = text.find(")", i + 2)
                if end != -1:
                    name = text[i + 2:end]
                    out.append(env[name] if name in env else text[i:end + 1])
                    i = end + 1
                    continue
        out.append(ch)
        i += 1
    return "".join(out)


def parse_quantity(value: object) -> float | None:
    """A resource quantity (`128Mi`, `1G`, `500m`, `1e9`) as a number."""
    if value is None:
        return None
    text = str(value).strip()
    suffixes = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4, "Pi": 1024**5, "Ei": 1024**6,
                "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18, "m": 1e-3}
    for suffix in sorted(suffixes, key=len, reverse=True):
        if text.endswith(suffix):
            try:
                return float(text[: -len(suffix)]) * suffixes[suffix]
            except ValueError:
                return None
    try:
        return float(text)
    except ValueError:
        return None


def field_ref(pod: JSON, path: str) -> str:
    md = pod.get("metadata") or {}
    simple = {
        "metadata.name": md.get("name", ""),
        "metadata.namespace": md.get("namespace", ""),
        "metadata.uid": md.get("uid", ""),
        "spec.nodeName": get_path(pod, "spec", "nodeName", default=NODE_NAME),
        "spec.serviceAccountName": get_path(pod, "spec", "serviceAccountName", default="default"),
        "status.podIP": NODE_IP,
        "status.podIPs": NODE_IP,
        "status.hostIP": NODE_IP,
        "status.hostIPs": NODE_IP,
    }
    if path in simple:
        return str(simple[path])
    for prefix, key in (("metadata.labels['", "labels"), ("metadata.annotations['", "annotations")):
        if path.startswith(prefix) and path.endswith("']"):
            return str((md.get(key) or {}).get(path[len(prefix):-2], ""))
    return ""


class PodConfig:
    """Resolves one pod's container configuration against the stored Secrets and ConfigMaps."""

    def __init__(self, store: Store, namespace: str, pod_dir: Path) -> None:
        self.store = store
        self.namespace = namespace
        self.dir = pod_dir

    def argv(self, container: JSON, image: Image, env: dict[str, str], mounts: dict[str, str]) -> list[str]:
        command = container.get("command")
        args = container.get("args")
        if command:
            argv = list(command) + list(args or [])
        else:
            argv = list(image.entrypoint) + (list(args) if args is not None else list(image.cmd))
        argv = [self.rewrite(expand(str(a), env), mounts) for a in argv]
        if argv and argv[0] in ("python3", "python", "python3.11"):
            argv[0] = sys.executable
        return argv

    @staticmethod
    def rewrite(value: str, mounts: dict[str, str]) -> str:
        for mount_path, local in sorted(mounts.items(), key=lambda kv: -len(kv[0])):
            if value == mount_path:
                return local
            prefix = mount_path.rstrip("/") + "/"
            if value.startswith(prefix):
                return local.rstrip("/") + "/" + value[len(prefix):]
        return value

    def _lookup(self, res_kind: str, name: str, optional: bool) -> JSON | None:
        res = SECRETS if res_kind == "secret" else CONFIGMAPS
        obj = self.store.peek(res, self.namespace, name)
        if obj is None and not optional:
            raise ConfigError(f'{res_kind} "{name}" not found')
        return obj

    def _data(self, obj: JSON | None, secret: bool) -> dict[str, str]:
        if obj is None:
            return {}
        out: dict[str, str] = {}
        for k, v in (obj.get("data") or {}).items():
            out[k] = base64.b64decode(v).decode("utf-8", "replace") if secret else str(v)
        if not secret:
            for k, v in (obj.get("binaryData") or {}).items():
                out[k] = base64.b64decode(v).decode("utf-8", "replace")
        return out

    def env(self, pod: JSON, container: JSON, image: Image) -> dict[str, str]:
        env: dict[str, str] = dict(image.env)
        for src in container.get("envFrom") or []:
            prefix = src.get("prefix", "")
            for kind, key in (("configmap", "configMapRef"), ("secret", "secretRef")):
                ref = src.get(key)
                if isinstance(ref, dict):
                    obj = self._lookup(kind, ref.get("name", ""), bool(ref.get("optional")))
                    for k, v in self._data(obj, kind == "secret").items():
                        env[prefix + k] = v
        for item in container.get("env") or []:
            name = item.get("name", "")
            if "valueFrom" not in item:
                env[name] = expand(str(item.get("value", "")), env)
                continue
            vf = item.get("valueFrom") or {}
            if "secretKeyRef" in vf or "configMapKeyRef" in vf:
                secret = "secretKeyRef" in vf
                ref = vf.get("secretKeyRef" if secret else "configMapKeyRef") or {}
                optional = bool(ref.get("optional"))
                obj = self._lookup("secret" if secret else "configmap", ref.get("name", ""), optional)
                data = self._data(obj, secret)
                key = ref.get("key", "")
                if key not in data:
                    if optional:
                        continue
                    kind = "Secret" if secret else "ConfigMap"
                    raise ConfigError(f"couldn't find key {key} in {kind} {self.namespace}/{ref.get('name', '')}")
                env[name] = data[key]
            elif "fieldRef" in vf:
                env[name] = field_ref(pod, (vf.get("fieldRef") or {}).get("fieldPath", ""))
            elif "resourceFieldRef" in vf:
                rf = vf.get("resourceFieldRef") or {}
                kind, _, what = str(rf.get("resource", "")).partition(".")
                value = get_path(container, "resources", kind, what)
                if value is None:
                    value = str(os.cpu_count() or 1) if what == "cpu" else str(24 * 1024**3)
                env[name] = str(value)
        return env

    def volumes(self, pod: JSON) -> dict[str, str]:
        """Materialise volumes; returns mountPath -> local directory or file."""
        spec = pod.get("spec") or {}
        local: dict[str, Path] = {}
        for vol in spec.get("volumes") or []:
            vname = vol.get("name", "")
            vdir = self.dir / "volumes" / vname
            for kind, key, secret in (("configmap", "configMap", False), ("secret", "secret", True)):
                src = vol.get(key)
                if not isinstance(src, dict):
                    continue
                ref_name = src.get("secretName" if secret else "name", "")
                obj = self.store.peek(SECRETS if secret else CONFIGMAPS, self.namespace, ref_name)
                if obj is None and not src.get("optional"):
                    raise MountError(f'{kind} "{ref_name}" not found')
                data = self._data(obj, secret)
                items = src.get("items")
                files = {i.get("path", i.get("key", "")): data.get(i.get("key", ""), "") for i in items} if items else data
                vdir.mkdir(parents=True, exist_ok=True)
                for rel, content in files.items():
                    target = vdir / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(content, encoding="utf-8")
                break
            else:
                vdir.mkdir(parents=True, exist_ok=True)  # emptyDir and anything else
            local[vname] = vdir
        mounts: dict[str, str] = {}
        container = (spec.get("containers") or [{}])[0]
        for vm in container.get("volumeMounts") or []:
            vdir = local.get(vm.get("name", ""))
            if vdir is None or not vm.get("mountPath"):
                continue
            path = vdir / vm["subPath"] if vm.get("subPath") else vdir
            mounts[vm["mountPath"]] = str(path)
        term_path = container.get("terminationMessagePath") or "/dev/termination-log"
        term_file = self.dir / "termination" / container.get("name", "c")
        term_file.parent.mkdir(parents=True, exist_ok=True)
        if term_file.exists():
            term_file.unlink()
        mounts[term_path] = str(term_file)
        return mounts
