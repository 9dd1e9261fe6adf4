"""deploy/kubernetes/: every object against Kubernetes' own JSON schemas, then the fields waops
relies on. kubeconform and kubeval read the schemas from GitHub, which CI here cannot reach, and
neither is packaged on PyPI or npm (2026-12-02); kubernetes-validate (PyPI) bundles the schemas
generated from Kubernetes' OpenAPI for each release, so the check runs offline, strict (an
unknown field is an error, as `kubectl apply --validate=strict` makes it). The kinds and
`apiVersion`s are the current stable ones (apps/v1, policy/v1, batch/v1).

Both kinds of pod run the same image: the workers as a StatefulSet (`workers.yaml`), the bot as
a Deployment of two, one active and one standby (`bot.yaml`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from jsonschema import ValidationError

from engine.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
API_VERSIONS = {
    "Secret": "v1",
    "Service": "v1",
    "PersistentVolumeClaim": "v1",
    "StatefulSet": "apps/v1",
    "Deployment": "apps/v1",
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


# An older Kubernetes release a cluster may still run, and the newest whose schemas the
# package carries.
KUBERNETES = ["1.32.0", "1.37.0"]


@pytest.mark.parametrize("version", KUBERNETES)
def test_every_object_follows_the_kubernetes_schema(version: str) -> None:
    for o in _objects():
        kubernetes_validate.validate(o, version, strict=True)


def test_the_schema_check_catches_a_wrong_field() -> None:
    bot = _one("Deployment", "waops-bot")
    bot["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}  # a typo
    with pytest.raises(ValidationError, match="livenesProbe"):
        kubernetes_validate.validate(bot, KUBERNETES[-1], strict=True)
    bot = _one("Deployment", "waops-bot")
    bot["spec"]["replicas"] = "2"
    with pytest.raises(ValidationError, match="not of type"):
        kubernetes_validate.validate(bot, KUBERNETES[-1], strict=True)


def test_every_object_has_a_known_kind_and_api_version_and_a_name() -> None:
    objects = _objects()
    assert {o["kind"] for o in objects} == set(API_VERSIONS)
    for o in objects:
        assert o["apiVersion"] == API_VERSIONS[o["kind"]], o["metadata"]
        assert o["metadata"]["name"] and o["metadata"]["labels"]["app.kubernetes.io/name"]


PODS = [("StatefulSet", "waops-worker", "worker"), ("Deployment", "waops-bot", "bot")]


@pytest.mark.parametrize(("kind", "name", "command"), PODS)
def test_each_pod_shares_the_volume_and_names_itself_after_the_pod(
    kind: str, name: str, command: str
) -> None:
    spec = _one(kind, name)["spec"]
    assert spec["replicas"] >= 2
    if kind == "StatefulSet":
        assert spec["serviceName"] == name, "the governing Service names the pods"
    template = spec["template"]
    assert spec["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()
    [container] = template["spec"]["containers"]
    assert container["args"] == ["waops", command]
    env = {e["name"]: e for e in container["env"]}
    assert env["WAOPS_WORKER_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    fields = set(Settings.model_fields)
    for variable in env:
        assert variable.removeprefix("WAOPS_").lower() in fields, f"{variable} is no setting"
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["data"] == env["WAOPS_DATA_DIR"]["value"]
    volumes = {v["name"]: v for v in template["spec"]["volumes"]}
    claim = _one("PersistentVolumeClaim", volumes["data"]["persistentVolumeClaim"]["claimName"])
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"], "every worker mounts the profiles"
    assert [e["secretRef"]["name"] for e in container["envFrom"]] == ["waops"]
    assert "WAOPS_DATABASE_URL" in _one("Secret", "waops")["stringData"]


@pytest.mark.parametrize(("kind", "name", "command"), PODS)
def test_probes_reach_healthz(kind: str, name: str, command: str) -> None:
    template = _one(kind, name)["spec"]["template"]
    [container] = template["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    port = {p["name"]: p["containerPort"] for p in container["ports"]}["health"]
    assert str(port) == env["WAOPS_HEALTH_PORT"] and env["WAOPS_HEALTH_HOST"] == "0.0.0.0"
    for probe in ("readinessProbe", "livenessProbe"):
        check = container[probe]["httpGet"]
        assert check["path"] == "/healthz" and check["port"] == "health"


def test_sigterm_gives_a_worker_time_to_hand_over() -> None:
    template = _one("StatefulSet", "waops-worker")["spec"]["template"]
    [container] = template["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    ttl = float(env["WAOPS_LEASE_TTL_S"] or 30)
    assert template["spec"]["terminationGracePeriodSeconds"] > ttl


def test_one_bot_leads_and_a_rollout_keeps_the_standby() -> None:
    """The standby is what a rollout must not take away before the new pod is up: with
    `maxUnavailable: 0` a pod that can lead is always there. The leader lease, not Kubernetes,
    decides which one is active, and its timings must be valid ones (bot/leader.py)."""
    bot = _one("Deployment", "waops-bot")["spec"]
    assert bot["replicas"] == 2, "one active, one standby"
    assert bot["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    [container] = bot["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    Settings(bot_lease_ttl_s=float(env["WAOPS_BOT_LEASE_TTL_S"] or 15))
    tokens = _one("Secret", "waops")["stringData"]
    assert "WAOPS_TELEGRAM_TOKEN" in tokens
    assert all(t.removeprefix("WAOPS_").lower() in Settings.model_fields for t in tokens)


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
