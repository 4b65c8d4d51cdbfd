"""A Kubernetes API simulator in the spirit of KWOK and envtest, for tests and demos.

It serves the real REST paths of `batch/v1` Jobs and core `v1` Pods, ConfigMaps, Secrets,
Namespaces and Events, with their JSON shapes, `Status` errors, resourceVersions and watches,
runs a Job controller, and a kubelet that runs each pod's container as a local process. Run it
with `python3 -m k8s_simulator --help`.
"""

__version__ = "0.1.0"
