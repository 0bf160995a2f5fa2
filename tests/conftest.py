"""Shared test configuration: where the shared webhook payloads live."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
WEBHOOKS = SHARED / "webhooks"
