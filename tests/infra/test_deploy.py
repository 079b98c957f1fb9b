"""The deployment files of ``infra/deploy/``, checked without a container engine, Helm or a cluster.

- ``compose.yaml`` against the Compose specification's JSON schema (vendored:
  ``tests/infra/schemas/compose-spec.json``, from compose-spec/compose-spec ``schema/compose-spec.json``
  at commit 170098ba07d9f53c383a41bfd4c5166b0a4529a6, 2026-06-23);
- the Kubernetes manifests of ``infra/deploy/k8s/`` against Kubernetes' own schemas (the
  ``kubernetes-validate`` package, strict: an unknown field is an error);
- every daiban process (worker, gateway, setup) in either gets the settings ``infra.roles`` says
  it needs, every ``DAIBAN_*`` variable is one daiban reads, and the values parse as settings.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from temporalio.envconfig import ClientConfig

from infra import roles
from infra.settings import Settings

DEPLOY = Path(__file__).parents[2] / "infra" / "deploy"
K8S_VERSION = "1.33.0"
_INTERPOLATION = re.compile(r"\$\{(\w+)(?::?([-?])([^}]*))?\}")


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())  # type: ignore[no-any-return]


def manifests() -> list[dict[str, Any]]:
    """What ``kubectl apply -f infra/deploy/k8s/`` applies: the folder's files, in name order."""
    docs: list[dict[str, Any]] = []
    for f in sorted((DEPLOY / "k8s").glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(f.read_text()) if d]
    return docs


def example_secrets() -> list[dict[str, Any]]:
    """The Secrets an operator creates from the secret store (``k8s/examples/secrets.yaml``: their keys)."""
    return [d for d in yaml.safe_load_all((DEPLOY / "k8s" / "examples" / "secrets.yaml").read_text()) if d]


# What an operator puts in daiban-secrets (the example holds descriptions, not values that parse).
SECRET_VALUES = {
    "DATABASE_URL": "postgresql://daiban:s3cret@daiban-db.daiban.svc.cluster.local:5432/daiban",
    "DAIBAN_PRINCIPALS": json.dumps(
        {"portal-tunliu": {"token": "p" * 32, "roles": ["registrar", "reader"], "zones": ["tunliu"]}}
    ),
    "DAIBAN_DEPARTMENT_KEYS": json.dumps({"ecology": "e" * 32}),
    "DAIBAN_CONTACT_KEYS": json.dumps({"k1": "A" * 43 + "="}),
    "DAIBAN_DEPARTMENT_WEBHOOKS": json.dumps({"housing": "https://housing.example.gov.cn/applications"}),
    "DAIBAN_NOTIFY_WEBHOOK": "",
}


def cluster() -> list[dict[str, Any]]:
    """The manifests and the Secrets as the operator created them (``SECRET_VALUES``)."""
    secrets = copy.deepcopy(example_secrets())
    for doc in secrets:
        if doc["metadata"]["name"] == "daiban-secrets":
            assert set(doc["stringData"]) == set(SECRET_VALUES)
            doc["stringData"] = dict(SECRET_VALUES)
    return manifests() + secrets


def role_of(command: list[str]) -> str | None:
    """Which daiban process a container's command starts (None: not daiban's)."""
    if command[:3] == ["python", "-m", "worker"]:
        return "worker"
    if command[:1] == ["daiban-gateway"]:
        return "gateway"
    if command[:3] == ["daiban", "setup", "all"]:
        return "setup"
    return None


def interpolate(value: Any) -> str:
    """A compose value as the container sees it, with ``${VAR:-default}`` at its default and a
    required ``${VAR:?...}`` at a sample value the operator would give (JSON settings: ``{}``)."""
    return _INTERPOLATION.sub(lambda m: m.group(3) if m.group(2) == "-" else "{}", str(value))


def assert_settings_parse(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, where: str) -> Settings:
    with monkeypatch.context() as mp:
        for name in roles.known_variables():
            mp.delenv(name, raising=False)
        for name, value in env.items():
            mp.setenv(name, value)
        try:
            return Settings()
        except Exception as exc:  # pydantic's ValidationError, shown with the service's name
            raise AssertionError(f"{where}: settings do not parse: {exc}") from exc


# ---- compose ------------------------------------------------------------------------------------


def compose_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((Path(__file__).parent / "schemas" / "compose-spec.json").read_text())
    # The file names draft-07 as "https://json-schema.org/draft-07/schema" (no "#"), which the
    # library does not map; it is draft-07.
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_compose_file_follows_the_compose_specification() -> None:
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in compose_validator().iter_errors(compose())]
    assert errors == []


def test_the_compose_schema_check_catches_a_broken_file() -> None:
    broken = copy.deepcopy(compose())
    broken["services"]["worker"]["deploy"]["replicas"] = [2]
    broken["services"]["gateway"]["restart_policy"] = "always"  # not a service field
    errors = list(compose_validator().iter_errors(broken))
    paths = {".".join(map(str, e.absolute_path)) for e in errors}
    assert "services.worker.deploy.replicas" in paths
    assert any("restart_policy" in e.message for e in errors)


def test_compose_gives_every_daiban_service_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    services = compose()["services"]
    found = {}
    for name, svc in services.items():
        role = role_of(svc.get("command", []))
        if role is None:
            continue
        found[name] = role
        env = {k: interpolate(v) for k, v in svc.get("environment", {}).items()}
        assert roles.missing(role, set(env)) == [], name
        unknown = {k for k in env if k.startswith(("DAIBAN_", "TEMPORAL_")) and k not in roles.known_variables()}
        assert unknown == set(), name
        settings = assert_settings_parse(env, monkeypatch, name)
        assert settings.temporal_namespace != "default", name
        assert settings.database_url and "@daiban-db:" in settings.database_url, name
        if role == "worker":
            assert settings.metrics_host == "0.0.0.0", name  # Prometheus scrapes it from its own container
        for dep in svc.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown service {dep}"
    assert sorted(found.values()) == ["gateway", "setup", "worker", "worker"]
    # Both queues are polled: orchestration and department adapters, each by its own service.
    queues = {services[n]["environment"]["DAIBAN_WORKER_QUEUES"] for n, r in found.items() if r == "worker"}
    assert queues == {"orchestration", "adapters"}


def test_compose_stack_has_temporal_on_postgresql_ui_and_prometheus() -> None:
    services = compose()["services"]
    temporal = services["temporal"]
    assert temporal["image"].startswith("temporalio/auto-setup:")
    assert temporal["environment"]["DB"] == "postgres12"
    assert temporal["environment"]["POSTGRES_SEEDS"] in services
    assert services["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
    scrape = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())["scrape_configs"]
    targets = set()
    for job in scrape:
        for sc in job.get("static_configs", []):
            targets |= {t.split(":")[0] for t in sc["targets"]}
        for sd in job.get("dns_sd_configs", []):
            targets |= set(sd["names"])
            port = sd["port"]
            assert all(str(services[n]["environment"]["DAIBAN_METRICS_PORT"]) == str(port) for n in sd["names"])
    assert targets == {"temporal", "worker", "worker-adapters", "gateway"}
    assert targets <= set(services)


# ---- kubernetes ---------------------------------------------------------------------------------


def test_manifests_follow_the_kubernetes_schemas() -> None:
    docs = manifests()
    assert {d["kind"] for d in docs} >= {"Namespace", "ConfigMap", "Deployment", "Service", "Job"}
    assert {d["kind"] for d in example_secrets()} == {"Secret"}
    for doc in docs + example_secrets():
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_applying_the_manifests_never_touches_the_secrets_and_makes_the_namespace_first() -> None:
    """``kubectl apply -f infra/deploy/k8s/``, at every release, would replace a Secret of the folder
    with its placeholder; the Secrets are created apart (README), so the folder holds none. kubectl
    applies the folder's files in name order: the namespace comes first."""
    files = sorted((DEPLOY / "k8s").glob("*.yaml"))
    first = [d for d in yaml.safe_load_all(files[0].read_text()) if d]
    assert [d["kind"] for d in first] == ["Namespace"]
    assert all(d["kind"] != "Secret" for d in manifests())
    namespaces = {d["metadata"]["name"] for d in first}
    assert {d["metadata"]["namespace"] for d in manifests()[1:] + example_secrets()} <= namespaces


def test_the_kubernetes_check_catches_a_broken_manifest() -> None:
    job = copy.deepcopy(next(d for d in manifests() if d["kind"] == "Job"))
    job["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRefs"] = {"name": "x"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, K8S_VERSION, strict=True)


def _container_env(container: dict[str, Any], docs: list[dict[str, Any]], labels: dict[str, str]) -> dict[str, str]:
    """The variables a container gets, resolving ConfigMap/Secret references (each must exist) and
    the pod's labels (``fieldRef: metadata.labels['...']``, the Downward API; each must be set)."""
    by_name = {(d["kind"], d["metadata"]["name"]): d for d in docs}

    def data_of(kind: str, name: str) -> dict[str, str]:
        assert (kind, name) in by_name, f"{container['name']}: {kind} {name} is not in the manifests"
        doc = by_name[(kind, name)]
        return {**doc.get("data", {}), **doc.get("stringData", {})}

    env: dict[str, str] = {}
    for src in container.get("envFrom", []):
        if "configMapRef" in src:
            env |= data_of("ConfigMap", src["configMapRef"]["name"])
        if "secretRef" in src:
            env |= data_of("Secret", src["secretRef"]["name"])
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        elif "fieldRef" in var["valueFrom"]:
            label = re.fullmatch(r"metadata\.labels\['([^']+)'\]", var["valueFrom"]["fieldRef"]["fieldPath"])
            assert label and label[1] in labels, f"{container['name']}: {var['name']} names no label of its pod"
            env[var["name"]] = labels[label[1]]
        else:
            ref = var["valueFrom"].get("secretKeyRef") or var["valueFrom"]["configMapKeyRef"]
            kind = "Secret" if "secretKeyRef" in var["valueFrom"] else "ConfigMap"
            data = data_of(kind, ref["name"])
            assert ref["key"] in data, f"{container['name']}: {kind} {ref['name']} has no key {ref['key']}"
            env[var["name"]] = data[ref["key"]]
    return env


def test_manifests_give_every_daiban_process_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    docs = manifests()
    found = []
    for doc in docs:
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        pod = doc["spec"]["template"]
        for container in pod["spec"]["containers"]:
            role = role_of(container["command"])
            assert role is not None, doc["metadata"]["name"]
            found.append(role)
            env = _container_env(container, cluster(), pod["metadata"].get("labels", {}))
            where = f"{doc['metadata']['name']}/{container['name']}"
            assert roles.missing(role, set(env)) == [], where
            assert {k for k in env if k.startswith("DAIBAN_") and k not in roles.known_variables()} == set(), where
            settings = assert_settings_parse(env, monkeypatch, where)
            # Every secret volume refers to a Secret of the manifests.
            secrets = {d["metadata"]["name"] for d in example_secrets()}
            for vol in pod["spec"].get("volumes", []):
                assert vol["secret"]["secretName"] in secrets, where
            if role == "worker":
                annotations = pod["metadata"]["annotations"]
                assert annotations["prometheus.io/scrape"] == "true", where
                assert int(annotations["prometheus.io/port"]) == settings.metrics_port, where
                assert settings.metrics_host == "0.0.0.0", where  # reachable from Prometheus' pod
                # Ready once it serves (with versioning: once its build is current), and the
                # rolling update stops no old pod before a new one is ready, for longer than the
                # setup Job waits for the switch (``infra.cluster.make_current_version``, 10 min).
                probe = container["readinessProbe"]["exec"]["command"]
                assert probe == ["test", "-f", str(settings.ready_file)], where
                assert doc["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0, where
                assert doc["spec"]["progressDeadlineSeconds"] > 600, where
            if role == "gateway":
                assert settings.gateway_host == "0.0.0.0", where
            if role in ("worker", "setup"):
                # Worker versioning: every worker and the setup Job name one deployment, and their
                # build id is the release their image is tagged with.
                assert settings.worker_deployment == "daiban", where
                assert container["image"] == f"daiban:{settings.build_id}", where
            if role == "setup":  # a Job's pod cannot change: each release's Job is a new one
                assert doc["metadata"]["name"] == f"daiban-setup-{settings.build_id}", where
    assert sorted(found) == ["gateway", "setup", "worker", "worker"]


def test_manifests_connect_to_temporal_over_mtls_through_envconfig(tmp_path: Path) -> None:
    """The ConfigMap's TEMPORAL_* variables make an mTLS client configuration (temporalio.envconfig)."""
    config = next(d for d in manifests() if d["kind"] == "ConfigMap")["data"]
    temporal = {k: v for k, v in config.items() if k.startswith("TEMPORAL_")}
    for key in ("TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH", "TEMPORAL_TLS_SERVER_CA_CERT_PATH"):
        local = tmp_path / Path(temporal[key]).name  # stands for the mounted Secret's file
        local.write_text(f"PEM of {key}")
        temporal[key] = str(local)
    cfg = ClientConfig.load_client_connect_config(override_env_vars=temporal)
    assert cfg["target_host"] == "temporal-frontend.temporal.svc.cluster.local:7233"
    assert cfg["namespace"] == "shanxi-prod"
    tls = cfg["tls"]
    assert not isinstance(tls, bool)
    assert tls.client_cert == b"PEM of TEMPORAL_TLS_CLIENT_CERT_PATH"
    assert tls.domain == "temporal-frontend.temporal.svc.cluster.local"


def test_helm_values_put_temporal_on_postgresql() -> None:
    values = yaml.safe_load((DEPLOY / "helm" / "temporal-values.yaml").read_text())
    persistence = values["server"]["config"]["persistence"]
    stores = persistence["datastores"]
    assert {stores[s]["sql"]["pluginName"] for s in ("default", "visibility")} == {"postgres12"}
    assert persistence["numHistoryShards"] == 512
    assert values["server"]["tls"]["frontend"]["requireClientAuth"] is True
