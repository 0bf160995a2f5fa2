"""The shipped Prometheus rules and Alertmanager config, checked by the real tools.

`promtool check rules` validates the rule files; `promtool test rules` runs the unit tests in
deploy/prometheus/tests (every alert: silent before its `for:`, firing with its exact texts,
resolved after); `amtool check-config` validates the Alertmanager config.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS = REPO / "deploy" / "prometheus"
RULES = sorted((PROMETHEUS / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))


def tool(name: str) -> str:
    found = shutil.which(name, path="/usr/bin") or shutil.which(name)
    assert found, f"{name} is not installed: run scripts/install-tools.sh"
    return found


def run(*args: str, cwd: Path = REPO) -> str:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def test_rule_files_are_valid() -> None:
    assert len(RULES) == 4
    output = run(tool("promtool"), "check", "rules", *map(str, RULES))
    assert output.count("SUCCESS") == len(RULES)


def test_every_alert_has_a_unit_test_and_the_tests_pass() -> None:
    alerts = {
        rule["alert"]
        for path in RULES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    tested = {
        case["alertname"]
        for path in RULE_TESTS
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert alerts and alerts <= tested, f"alerts without a firing test: {alerts - tested}"
    output = run(tool("promtool"), "test", "rules", *map(str, RULE_TESTS), cwd=PROMETHEUS)
    assert "SUCCESS" in output


def test_every_alert_names_stream_stage_signal_and_severity() -> None:
    """Bottleneck alerts name their stage; forecast alerts their target (SLE: the stream);
    data-health alerts their source, or their stream and state."""
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" not in rule:
                    continue
                assert rule["labels"]["severity"] in {"info", "warning", "critical"}, rule
                assert rule["labels"]["signal"], rule
                assert rule.get("for"), rule
                text = rule["annotations"]["summary"] + rule["annotations"]["description"]
                if group["name"] == "flowgauge-data-health":
                    named = ("$labels.source",), ("$labels.stream", "$labels.state")
                    assert any(all(x in text for x in n) for n in named), rule["alert"]
                    continue
                assert "$labels.stream" in text, rule["alert"]
                about = {"flowgauge-bottlenecks": "stage", "flowgauge-forecasts": "target"}
                if rule["labels"]["signal"] != "sle_burn":
                    assert f"$labels.{about[group['name']]}" in text, rule["alert"]


def test_alertmanager_config_is_valid_and_groups_by_stream() -> None:
    config_path = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
    run(tool("amtool"), "check-config", str(config_path))
    config = yaml.safe_load(config_path.read_text())
    assert config["route"]["group_by"] == ["stream"]
    receivers = {r["name"]: r for r in config["receivers"]}
    assert receivers["flowgauge-webhook"]["webhook_configs"]
    slack = receivers["flowgauge-slack"]["slack_configs"][0]
    assert "api_url" not in slack and slack["api_url_file"]  # the secret stays in a file
