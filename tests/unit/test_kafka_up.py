"""scripts/kafka-up's pure parts, loaded from the script itself (it is stdlib-only, no package)."""

from __future__ import annotations

import base64
import importlib.machinery
import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "kafka-up"


def kafka_up() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("kafka_up", str(SCRIPT))
    spec = importlib.util.spec_from_loader("kafka_up", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_cluster_ids_never_look_like_an_option() -> None:
    """One id in 64 started with "-" and the storage tool refused it as an unknown option."""
    script = kafka_up()
    ids = {script.cluster_id() for _ in range(5_000)}
    assert len(ids) == 5_000
    for cluster_id in ids:
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_a_three_node_cluster_has_replicas_three_and_min_isr_two(tmp_path: Path) -> None:
    script = kafka_up()
    cluster = script.new_cluster(3)
    text = script.properties(tmp_path, cluster, cluster["nodes"][0])
    assert "default.replication.factor=3" in text
    assert "min.insync.replicas=2" in text
    voters = next(line for line in text.splitlines() if line.startswith("controller.quorum"))
    assert voters.count("@127.0.0.1:") == 3
