"""The deployment files check what can be checked without a Docker engine or a Grafana server.

No Docker engine, no compose plugin and no Grafana server run on the development and CI
machines, so nothing here starts the stack. What is checked: the generated dashboards equal a
fresh build and name only metrics flowgauge exposes; the compose file, the Prometheus config,
Grafana's provisioning and the Kubernetes manifests parse, agree with each other, and reference
only files that exist in the repo; `promtool check config` (the real one, from
scripts/install-tools.sh) accepts the compose Prometheus config; `kubectl kustomize` renders the
manifests when kubectl is installed. tests/integration/test_dashboards.py runs every panel query
against a real Prometheus.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry

import flowgauge_boards.build as generated  # grafana/ is on pytest's pythonpath (pyproject)
from flowgauge.exposition import DORA_FAMILIES, FLOW_FAMILIES, IngestMetrics, WorkerMetrics
from flowgauge.exposition.trust import TRUST_FAMILIES
from flowgauge.model.loader import parse_config

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = REPO / "grafana" / "dashboards"
PROVISIONING = REPO / "grafana" / "provisioning"
COMPOSE = REPO / "docker-compose.yml"
PROMETHEUS = REPO / "deploy" / "prometheus" / "prometheus.yml"
RULES = REPO / "deploy" / "prometheus" / "rules"
KUBERNETES = REPO / "deploy" / "kubernetes"

# Names a panel may query that flowgauge does not expose, and why.
FOREIGN_METRICS = {
    "ALERTS": "Prometheus' own series of alerting rules",
    "up": "Prometheus' scrape health",
    "kafka_consumergroup_lag": "kafka_exporter's lag (flowgauge exposes none; the panel says so)",
}
GRAFANA_VARIABLES = {"__rate_interval", "__interval", "__range"}


def boards() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for panel in board["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))  # panels inside collapsed rows
    return out


def exposed_metric_names() -> set[str]:
    names = {f.name for f in (*FLOW_FAMILIES, *DORA_FAMILIES)} | set(TRUST_FAMILIES)
    registry = CollectorRegistry()
    WorkerMetrics.create(registry)
    IngestMetrics.create(registry)
    for family in registry.collect():
        names.add(f"{family.name}_total" if family.type == "counter" else family.name)
    return names


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def binds(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host source, container target) of a service's bind mounts (short or long syntax)."""
    out = []
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
            if source.startswith((".", "/")):
                out.append((source, target))
        elif volume.get("type") == "bind":
            out.append((volume["source"], volume["target"]))
    return out


def named_volumes(service: dict[str, Any]) -> list[str]:
    out = []
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                out.append(source)
        elif volume.get("type") == "volume":
            out.append(volume["source"])
    return out


# -- dashboards ---------------------------------------------------------------------------------


def test_committed_dashboards_equal_a_fresh_build() -> None:
    stale = generated.stale()
    assert stale == [], f"run `python grafana/generate.py`: stale {stale}"


def test_the_nine_boards_exist_with_unique_uids() -> None:
    found = boards()
    assert set(found) == {
        "flow-overview.json",
        "stages.json",
        "aging-wip.json",
        "dora.json",
        "bottlenecks.json",
        "pipeline-health.json",
        "value-stream-map.json",
        "data-health.json",
        "distribution.json",
    }
    uids = [b["uid"] for b in found.values()]
    assert len(set(uids)) == len(uids)


def test_every_panel_is_described_placed_and_bound_to_the_datasource_variable() -> None:
    for name, board in boards().items():
        ids = [p["id"] for p in panels(board)]
        assert len(set(ids)) == len(ids), name
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        for panel in panels(board):
            where = f"{name}: {panel.get('title')}"
            assert panel["title"] and len(panel["description"]) > 40, where
            grid = panel["gridPos"]
            assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24 and grid["h"] > 0, where
            if panel["type"] == "text":
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, where
            assert panel["targets"], where
            refs = [t["refId"] for t in panel["targets"]]
            assert len(set(refs)) == len(refs), where
            for target in panel["targets"]:
                assert target["expr"].strip(), where
                assert target["datasource"]["uid"] == "${datasource}", where


def test_queries_name_only_metrics_that_exist_and_variables_the_board_defines() -> None:
    exposed = exposed_metric_names()
    for name, board in boards().items():
        defined = {v["name"] for v in board["templating"]["list"]} | GRAFANA_VARIABLES
        exprs = [t["expr"] for p in panels(board) for t in p.get("targets", [])]
        exprs += [v["query"] for v in board["templating"]["list"] if v["type"] == "query"]
        for expr in exprs:
            for metric in re.findall(r"\b(flowgauge_[a-z_]+)\b", expr):
                assert metric in exposed, f"{name}: {metric} is not exposed by flowgauge"
            for metric in re.findall(r"\b(ALERTS|up|kafka_[a-z_]+)\s*[{\[(]", expr):
                assert metric in FOREIGN_METRICS, f"{name}: {metric}"
            for variable in re.findall(r"\$\{?(\w+)", expr):
                assert variable in defined, f"{name}: ${variable} is not defined in {expr}"


def test_every_flow_and_dora_family_is_read_with_sum_by() -> None:
    """Every series comes from exactly one worker (CONTRACT.md), so `sum by` over the workers
    is exact, quantiles included: no `max by` upper bound is left on a board or in a rule."""
    families = {f.name for f in (*FLOW_FAMILIES, *DORA_FAMILIES)}
    read: set[str] = set()
    for name, board in boards().items():
        for panel in panels(board):
            for target in panel.get("targets", []):
                expr = target["expr"]
                # the ingester's own gauges (data health) may take max across ingesters
                for metric in families & set(re.findall(r"flowgauge_[a-z_]+", expr)):
                    assert not re.search(rf"max(?: by \([^)]*\))? ?\({metric}\b", expr), (
                        f"{name}: {panel['title']}: {expr}"
                    )
                    assert re.search(rf"sum(?: by \([^)]*\))? ?\({metric}\b", expr), (
                        f"{name}: {panel['title']}: {metric} must be read with sum by"
                    )
                    read.add(metric)
    assert "flowgauge_lead_time_seconds" in read and "flowgauge_bottleneck" in read
    for rules in sorted(RULES.glob("*.yml")):
        text = rules.read_text()
        for metric in families:  # the ingester's own gauges (data health) may take max
            assert not re.search(rf"max(?: by \([^)]*\))? ?\(\s*{metric}\b", text), (
                f"{rules.name} combines workers' {metric} with max"
            )


# -- provisioning and compose -------------------------------------------------------------------


def test_grafana_provisioning_matches_the_compose_mounts() -> None:
    grafana = compose()["services"]["grafana"]
    mounts = {Path(source).resolve(): target for source, target in binds(grafana)}
    assert mounts[PROVISIONING.resolve()] == "/etc/grafana/provisioning"
    datasources = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())
    (source,) = datasources["datasources"]
    assert source["type"] == "prometheus" and source["isDefault"] is True
    assert source["url"] == "http://prometheus:9090"
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "flowgauge.yml").read_text())
    (provider,) = providers["providers"]
    assert mounts[DASHBOARDS.resolve()] == provider["options"]["path"]
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(provider["options"]["path"] + "/")
    assert (DASHBOARDS / Path(home).name).exists()


def test_compose_references_only_files_that_exist() -> None:
    spec = compose()
    services = spec["services"]
    declared = set(spec.get("volumes", {}))
    for name, service in services.items():
        build = service.get("build")
        if build is not None:
            context = REPO / (build if isinstance(build, str) else build["context"])
            assert context.is_dir(), name
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile")
            assert (context / (dockerfile or "Dockerfile")).is_file(), name
        for source, _ in binds(service):
            assert (REPO / source).exists(), f"{name} mounts missing {source}"
        for env_file in service.get("env_file", []):
            assert (REPO / env_file).exists(), f"{name}: missing env_file {env_file}"
        for volume in named_volumes(service):
            assert volume in declared, f"{name}: volume {volume} is not declared"
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
    used = {v for s in services.values() for v in named_volumes(s)}
    assert used == declared


def test_compose_stack_shape_start_order_and_health() -> None:
    services = compose()["services"]
    assert set(services) >= {
        "kafka",
        "kafka-init",
        "ingester",
        "worker-1",
        "worker-2",
        "prometheus",
        "alertmanager",
        "grafana",
    }
    assert services["kafka"]["image"].startswith("apache/kafka:")
    env = services["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, one node
    for name, service in services.items():
        if name != "kafka-init":
            assert "healthcheck" in service, f"{name} has no healthcheck"
        for dependency, condition in service.get("depends_on", {}).items():
            assert condition["condition"] in {
                "service_healthy",
                "service_started",
                "service_completed_successfully",
            }
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency]
    assert services["kafka-init"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in ("ingester", "worker-1", "worker-2"):
        assert (
            services[name]["depends_on"]["kafka-init"]["condition"]
            == "service_completed_successfully"
        )
        assert services[name]["build"]["context"] == "."
    assert services["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"
    assert services["prometheus"]["depends_on"]["alertmanager"]["condition"] == "service_healthy"


def test_the_topic_job_creates_the_four_topics_with_four_partitions() -> None:
    init = compose()["services"]["kafka-init"]
    script = "\n".join(init["command"])
    assert "for suffix in raw events deadletter alerts" in script
    assert '--topic "$${PREFIX}-$${suffix}" --partitions 4' in script
    assert init["environment"]["PREFIX"] == "${FLOWGAUGE_TOPIC_PREFIX:-flowgauge}"


def test_two_workers_share_the_topics_under_distinct_ids() -> None:
    services = compose()["services"]
    workers = [services["worker-1"], services["worker-2"]]
    assert [w["command"] for w in workers] == [["worker"], ["worker"]]
    ids = {w["environment"]["FLOWGAUGE_WORKER_ID"] for w in workers}
    assert ids == {"worker-1", "worker-2"}
    prefixes = {w["environment"]["FLOWGAUGE_TOPIC_PREFIX"] for w in workers}
    assert prefixes == {services["ingester"]["environment"]["FLOWGAUGE_TOPIC_PREFIX"]}
    assert {w["environment"]["FLOWGAUGE_KAFKA"] for w in workers} == {"kafka:9092"}
    assert named_volumes(workers[0]) != named_volumes(workers[1])
    for worker in workers:  # Apache Kafka's group.min.session.timeout.ms is 6 s
        assert float(worker["environment"]["FLOWGAUGE_SESSION_TIMEOUT"]) >= 6


def test_compose_holds_no_secret_values() -> None:
    for name, service in compose()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if key.endswith("_SECRET"):
                assert value is None, f"{name}: {key} must be passed through from the shell"


def test_prometheus_scrapes_the_ingester_and_both_workers_and_loads_the_rules() -> None:
    config = yaml.safe_load(PROMETHEUS.read_text())
    services = compose()["services"]
    targets = {
        t for job in config["scrape_configs"] for s in job["static_configs"] for t in s["targets"]
    }
    ingest_port = services["ingester"]["environment"]["FLOWGAUGE_INGEST_BIND"].split(":")[1]
    assert f"ingester:{ingest_port}" in targets
    for worker in ("worker-1", "worker-2"):
        port = services[worker]["environment"]["FLOWGAUGE_METRICS_BIND"].split(":")[1]
        assert f"{worker}:{port}" in targets
    mounts = {target: Path(source) for source, target in binds(services["prometheus"])}
    assert mounts["/etc/prometheus/prometheus.yml"].resolve() == PROMETHEUS.resolve()
    assert mounts["/etc/prometheus/rules"].resolve() == RULES.resolve()
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    (alertmanagers,) = config["alerting"]["alertmanagers"]
    assert alertmanagers["static_configs"][0]["targets"] == ["alertmanager:9093"]
    am_mounts = {t: Path(s) for s, t in binds(services["alertmanager"])}
    am_config = am_mounts["/etc/alertmanager/alertmanager.yml"]
    assert (REPO / am_config).exists()


def promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool is not installed: run scripts/install-tools.sh (make test does)"
    return found


def check_config(copy: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(copy))
    return subprocess.run(
        [promtool(), "check", "config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_promtool_accepts_the_compose_prometheus_config(tmp_path: Path) -> None:
    """Without its rule_files: those are container paths, and the rules are another file set."""
    config = yaml.safe_load(PROMETHEUS.read_text())
    config.pop("rule_files")
    result = check_config(config, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_promtool_accepts_it_with_the_repo_rules_mounted_where_compose_mounts_them(
    tmp_path: Path,
) -> None:
    rules = sorted(RULES.glob("*.yml"))
    assert rules, "deploy/prometheus/rules/ holds no rule files"
    config = yaml.safe_load(PROMETHEUS.read_text())
    config["rule_files"] = [str(RULES / "*.yml")]
    result = check_config(config, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


# -- image --------------------------------------------------------------------------------------


def test_dockerfile_copies_only_what_exists_and_installs_the_package() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert "RUN pip install ." in text
    for line in text.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (REPO / source).exists(), f"Dockerfile copies missing {source}"
    ignored = (REPO / ".dockerignore").read_text().split()
    for needed in ("src", "pyproject.toml", "README.md"):
        assert needed not in ignored


# -- kubernetes ---------------------------------------------------------------------------------


def manifests() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    docs: list[dict[str, Any]] = []
    for resource in kustomization["resources"]:
        path = KUBERNETES / resource
        assert path.is_file(), f"kustomization names missing {resource}"
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    listed = {KUBERNETES / r for r in kustomization["resources"]}
    on_disk = {p for p in KUBERNETES.glob("*.yaml") if p.name != "kustomization.yaml"}
    assert listed == on_disk
    return docs


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in manifests() if d["kind"] == kind}


def test_manifests_parse_and_include_no_secret() -> None:
    docs = manifests()
    for doc in docs:
        assert doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"]
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert ("Deployment", "flowgauge-ingester") in kinds
    assert ("Service", "flowgauge-ingester") in kinds
    assert ("StatefulSet", "flowgauge-worker") in kinds
    assert ("ConfigMap", "flowgauge-value-stream") in kinds
    assert not [d for d in docs if d["kind"] == "Secret"]
    ingester = by_kind("Deployment")["flowgauge-ingester"]
    (container,) = ingester["spec"]["template"]["spec"]["containers"]
    refs = [e["secretRef"]["name"] for e in container["envFrom"] if "secretRef" in e]
    assert refs == ["flowgauge-webhook-secrets"]


def test_the_value_stream_config_map_is_a_valid_config() -> None:
    config_map = by_kind("ConfigMap")["flowgauge-value-stream"]
    config = parse_config(config_map["data"]["flowgauge.yaml"], "flowgauge-value-stream")
    assert [s.name for s in config.streams] == ["delivery"]


def test_workers_keep_their_data_dir_on_a_volume_and_read_the_mounted_config() -> None:
    env = by_kind("ConfigMap")["flowgauge-env"]["data"]
    worker = by_kind("StatefulSet")["flowgauge-worker"]
    spec = worker["spec"]
    claims = {c["metadata"]["name"] for c in spec["volumeClaimTemplates"]}
    (container,) = spec["template"]["spec"]["containers"]
    assert container["args"] == ["worker"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts[env["FLOWGAUGE_DATA_DIR"]] in claims
    config_dir = str(Path(env["FLOWGAUGE_CONFIG"]).parent)
    volumes = {v["name"]: v for v in spec["template"]["spec"]["volumes"]}
    config_volume = volumes[mounts[config_dir]]
    assert config_volume["configMap"]["name"] == "flowgauge-value-stream"
    names = {e["name"]: e for e in container["env"]}
    assert names["FLOWGAUGE_WORKER_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    config_maps = set(by_kind("ConfigMap"))
    for source in container["envFrom"]:
        assert source["configMapRef"]["name"] in config_maps
    assert int(env["FLOWGAUGE_PARTITIONS"]) >= spec["replicas"]


def test_kubectl_kustomize_renders_the_manifests() -> None:
    kubectl = shutil.which("kubectl")  # part of this project's machine image (Debian package)
    assert kubectl, "kubectl is not installed"
    result = subprocess.run(
        [kubectl, "kustomize", str(KUBERNETES)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    rendered = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert all(
        d["metadata"].get("namespace") == "flowgauge" for d in rendered if d["kind"] != "Namespace"
    )
