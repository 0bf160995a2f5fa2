"""Loading a value-stream config from YAML, with errors that name the file, line and field."""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from flowgauge.model.config import FlowConfig


class ConfigError(ValueError):
    """Every problem of a config file, one per line: `file:line: field: message`."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def default_config_text() -> str:
    return importlib.resources.files("flowgauge").joinpath("default-config.yaml").read_text()


def load_config(path: Path | None) -> FlowConfig:
    """The config in `path`, or the built-in default when `path` is None."""
    if path is None:
        return parse_config(default_config_text(), "<built-in default>")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    return parse_config(text, str(path))


def parse_config(text: str, filename: str) -> FlowConfig:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError([f"{filename}{line}: not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"{filename}:1: the config must be a mapping with `streams:`"])
    try:
        return FlowConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        errors = exc.errors()
        locs = [tuple(e["loc"]) for e in errors]
        for error in errors:
            loc = tuple(error["loc"])
            if error["type"] == "too_short" and any(o[: len(loc)] == loc != o for o in locs):
                continue  # a consequence of an error inside the list, reported already
            field = ".".join(str(p) for p in loc) or "(top level)"
            problems.append(f"{filename}:{_line_of(node, loc)}: {field}: {error['msg']}")
        raise ConfigError(problems) from None


def _line_of(node: Any, loc: tuple[Any, ...]) -> int:
    """The 1-based line of the deepest YAML node on the error's path."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
            if child is None:  # a missing field: point at the mapping itself
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if part < len(node.value) else None
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line
