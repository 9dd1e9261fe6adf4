"""deploy/kubernetes/: the fields waops relies on, read as Kubernetes would. A schema checker
(kubeconform, kubeval) reads Kubernetes' JSON schemas from GitHub by default, which CI here
cannot reach, and kubeconform is not packaged on PyPI or npm (`pip download kubeconform` and
`npm view kubeconform` found nothing, 2026-12-02); so this reads the YAML and checks the fields
itself. The kinds and `apiVersion`s
are the current stable ones (apps/v1, policy/v1, batch/v1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
API_VERSIONS = {
    "Secret": "v1",
    "Service": "v1",
    "PersistentVolumeClaim": "v1",
    "StatefulSet": "apps/v1",
    "PodDisruptionBudget": "policy/v1",
    "Job": "batch/v1",
}


def _objects() -> list[dict[str, Any]]:
    found = []
    for path in sorted(DEPLOY.glob("*.yaml")):
        found += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def _one(kind: str, name: str) -> dict[str, Any]:
    [found] = [o for o in _objects() if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def test_every_object_has_a_known_kind_and_api_version_and_a_name() -> None:
    objects = _objects()
    assert {o["kind"] for o in objects} == set(API_VERSIONS)
    for o in objects:
        assert o["apiVersion"] == API_VERSIONS[o["kind"]], o["metadata"]
        assert o["metadata"]["name"] and o["metadata"]["labels"]["app.kubernetes.io/name"]


def test_the_workers_share_one_volume_and_name_themselves_after_their_pod() -> None:
    workers = _one("StatefulSet", "waops-worker")
    spec = workers["spec"]
    assert spec["replicas"] >= 2 and spec["serviceName"] == "waops-worker"
    template = spec["template"]
    assert spec["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()
    [container] = template["spec"]["containers"]
    assert container["args"] == ["waops", "worker"]
    env = {e["name"]: e for e in container["env"]}
    assert env["WAOPS_WORKER_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    fields = set(Settings.model_fields)
    for name in env:
        assert name.removeprefix("WAOPS_").lower() in fields, f"{name} is no setting of waops"
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["data"] == env["WAOPS_DATA_DIR"]["value"]
    volumes = {v["name"]: v for v in template["spec"]["volumes"]}
    claim = _one("PersistentVolumeClaim", volumes["data"]["persistentVolumeClaim"]["claimName"])
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"], "every worker mounts the profiles"
    assert [e["secretRef"]["name"] for e in container["envFrom"]] == ["waops"]
    assert "WAOPS_DATABASE_URL" in _one("Secret", "waops")["stringData"]


def test_probes_reach_healthz_and_sigterm_has_time_to_hand_over() -> None:
    template = _one("StatefulSet", "waops-worker")["spec"]["template"]
    [container] = template["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    port = {p["name"]: p["containerPort"] for p in container["ports"]}["health"]
    assert str(port) == env["WAOPS_HEALTH_PORT"] and env["WAOPS_HEALTH_HOST"] == "0.0.0.0"
    for probe in ("readinessProbe", "livenessProbe"):
        check = container[probe]["httpGet"]
        assert check["path"] == "/healthz" and check["port"] == "health"
    ttl = float(env["WAOPS_LEASE_TTL_S"] or 30)
    assert template["spec"]["terminationGracePeriodSeconds"] > ttl


@pytest.mark.parametrize("kind", ["PodDisruptionBudget", "Service"])
def test_the_budget_and_the_service_select_the_workers(kind: str) -> None:
    labels = _one("StatefulSet", "waops-worker")["spec"]["template"]["metadata"]["labels"]
    spec = _one(kind, "waops-worker")["spec"]
    selector = spec["selector"].get("matchLabels", spec["selector"])
    assert selector.items() <= labels.items()
    if kind == "PodDisruptionBudget":
        assert spec["maxUnavailable"] == 1


def test_migrations_run_once_in_a_job_not_in_each_worker() -> None:
    job = _one("Job", "waops-db-upgrade")
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["waops", "db", "upgrade"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never")
