"""Value stream types (CONTRACT.md): `type` per stream, checked by `check-config`, and
`flowgauge_stream_info{stream, type}` = 1 for every configured stream."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from flowgauge.cli import main
from flowgauge.engine.processor import Processor
from flowgauge.exposition import render
from flowgauge.model import STREAM_TYPES, FlowConfig
from flowgauge.model.loader import load_config, parse_config
from flowgauge.stream.state import WorkerState

REPO = Path(__file__).resolve().parents[2]
CONTRACT_EXAMPLE = REPO / "tests" / "fixtures" / "configs" / "contract-example.yaml"
CONTRACT = REPO.parent / "shared" / "CONTRACT.md"  # beside the repository, when present

STREAMS = """\
streams:
  - name: onboarding
    type: operational
    stages:
      - {name: new, kind: wait, states: [New]}
      - {name: done, kind: done, states: [Live]}
  - name: delivery
    stages:
      - {name: todo, kind: wait, states: [Todo]}
      - {name: done, kind: done, states: [Done]}
  - name: platform
    type: supporting
    stages:
      - {name: todo, kind: wait, states: [Todo]}
      - {name: done, kind: done, states: [Done]}
"""


def info(text: str) -> dict[str, str]:
    """stream -> type of the `flowgauge_stream_info` samples (each must be 1)."""
    found: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "flowgauge_stream_info":
                assert sample.value == 1.0
                found[sample.labels["stream"]] = sample.labels["type"]
    return found


def test_type_defaults_to_development_and_each_stream_has_one() -> None:
    config = parse_config(STREAMS, "s.yaml")
    assert [s.type for s in config.streams] == ["operational", "development", "supporting"]
    assert set(STREAM_TYPES) == {"operational", "development", "supporting"}


def test_stream_info_is_1_for_every_configured_stream_from_the_start() -> None:
    config = parse_config(STREAMS, "s.yaml")
    expected = {"onboarding": "operational", "delivery": "development", "platform": "supporting"}
    # a fresh worker shows a stream's series once it holds the stream (every series from one
    # worker: stream/stage.py); holding them all, before any event, it shows every type
    worker = WorkerState(config=config, registry=CollectorRegistry(auto_describe=True))
    assert info(generate_latest(worker.registry).decode()) == {}
    worker.processor.expose(None, dora=True)
    assert info(generate_latest(worker.registry).decode()) == expected
    assert info(render(Processor(config).snapshot(0)).decode()) == expected


def test_check_config_names_the_type_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(STREAMS.replace("type: supporting", "type: enabling"))
    assert main(["check-config", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:12: streams.2.type:" in err, err
    assert "'operational', 'development' or 'supporting'" in err, err


def test_check_config_accepts_the_contract_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(CONTRACT_EXAMPLE)]) == 0
    assert capsys.readouterr().out.endswith("OK\n")
    config: FlowConfig = load_config(CONTRACT_EXAMPLE)
    assert config.streams[0].type == "development"


@pytest.mark.skipif(not CONTRACT.exists(), reason="CONTRACT.md is not beside the repository")
def test_the_example_file_is_the_contracts() -> None:
    block = re.search(
        r"## Value-stream config \(YAML\)\n\n```yaml\n(.*?)```", CONTRACT.read_text(), re.S
    )
    assert block is not None
    assert CONTRACT_EXAMPLE.read_text() == block[1]
