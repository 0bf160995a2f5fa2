"""Helpers for the native (platform) sources: safe payload reading, times, event ids, links.

Every reader here either returns a value of the expected type or `None` / raises `PayloadError`,
so that a malformed payload can never surface as a KeyError, TypeError or AttributeError.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from flowgauge.model import FlowEvent
from flowgauge.signing import same, standard_webhook_signature
from flowgauge.sources._common import timestamp
from flowgauge.sources.base import Headers, PayloadError, SignatureError

#: Placeholders some platforms put where JSON would have null (Plane v2 writes "None").
_NULLS = frozenset({"", "None", "null"})

#: The event that carries a change of holder (`assignee`, `team`) or `parent` that has no flow
#: event of its own (an assignment, a sub-issue or milestone link): a `labeled` event without a
#: `label`, which changes no label and moves no stage (the item walk skips it, engine/item.py);
#: it only says who holds the item and what it belongs to from that instant. Every native source
#: uses it, so an assignment never repeats a state (an unmapped status would count as unmapped,
#: and a state the tool reports coarsely, GitLab's `opened` for an approved merge request, would
#: move the item back a stage).
HOLDER_EVENT = "labeled"
_MAX_KEY = 200


def dig(value: Any, *path: str) -> Any:
    """`value[path[0]][path[1]]...`, or None as soon as a step is not an object or absent."""
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def opt_text(value: Any) -> str | None:
    """A non-empty string (or an integer, as text), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value not in _NULLS:
        return value
    return None


def need_text(value: Any, what: str) -> str:
    found = opt_text(value)
    if found is None:
        raise PayloadError(f"{what} is missing or not a string")
    return found


def need_obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(f"{what} must be a JSON object")
    return value


def when(*candidates: tuple[Any, str]) -> datetime:
    """The first candidate time that is present, parsed; PayloadError if none is present.

    Accepts RFC 3339, GitLab's `2017-09-15 16:52:00 UTC` / `... +0200` and epoch milliseconds.
    """
    for value, what in candidates:
        if value is None or (isinstance(value, str) and value in _NULLS):
            continue
        if isinstance(value, str) and value.endswith(" UTC"):
            value = value[:-4] + "+00:00"
        try:
            return timestamp(value, what)
        except PayloadError:
            raise
        except (OverflowError, OSError, ValueError):  # epoch ms out of range, NaN
            raise PayloadError(f"{what} is not a time: {value!r}") from None
    raise PayloadError(f"no event time: {', '.join(w for _, w in candidates)} all missing")


def opt_when(value: Any, what: str) -> datetime | None:
    """`when` for one optional time: None when absent, PayloadError when present but not a time."""
    if value is None or (isinstance(value, str) and value in _NULLS):
        return None
    return when((value, what))


def names(values: Any, key: str = "name") -> tuple[str, ...] | None:
    """Names from a list of strings or of objects carrying `key`; None when not a list."""
    if not isinstance(values, list):
        return None
    found = (opt_text(v) if isinstance(v, str) else opt_text(dig(v, key)) for v in values)
    return tuple(n for n in found if n is not None)


_BUG = re.compile(r"(?:(?:type|kind)\s*(?:::|:|/)\s*)?(?:bug|defect)", re.IGNORECASE)


def type_from_labels(labels: Iterable[str] | None) -> str | None:
    """`bug` when a label says so (`bug`, `type::bug`, `kind/bug`, `defect`), else None."""
    return "bug" if any(_BUG.fullmatch(label) for label in labels or ()) else None


def content_key(*parts: Any) -> str:
    """A short stable digest of payload fields, for sources with no stable delivery id."""
    raw = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def id_key(delivery: str | None, *fallback: Any) -> str:
    """The delivery id when usable, else a digest of the given payload fields."""
    if delivery and len(delivery) <= _MAX_KEY and delivery.isprintable():
        return delivery
    if delivery:
        return content_key(delivery)
    return "c-" + content_key(*fallback)


class Batch:
    """The events of one delivery, ids `<source>:<key>:<n>` in emission order."""

    def __init__(self, source: str, key: str) -> None:
        self.source = source
        self.key = key
        self.events: list[FlowEvent] = []

    def add(self, type_: str, item: str, at: datetime, **fields: Any) -> None:
        event_id = f"{self.source}:{self.key}:{len(self.events)}"
        data = {k: v for k, v in fields.items() if v is not None}
        try:
            event = FlowEvent(id=event_id, type=type_, item=item, at=at, source=self.source, **data)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"]) or "event"
            raise PayloadError(f"{loc}: {first['msg']}") from None
        self.events.append(event)


def initial_labels(batch: Batch, at: datetime, fields: dict[str, Any]) -> None:
    """A `labeled` event per label an item is created with (its `labels`), at the creation time.

    For platforms whose create payload carries the labels and that send no separate label event
    (Jira, Plane, Linear): without these, an item created with a blocked label is never blocked.
    """
    for label in fields.get("labels") or ():
        batch.add("labeled", at=at, label=label, **fields)


def incident_candidate(
    batch: Batch,
    type_: str,
    at: datetime,
    fields: dict[str, Any],
    *,
    service: str,
    issue_type: str | None,
    label: str | None = None,
) -> None:
    """An `incident_opened` / `incident_resolved` for an issue that may be an incident.

    Sources have no config, so they cannot tell which labels make an incident
    (`dora.incident_labels`). They report every issue that has labels or is of type Incident,
    with kind `issue`, its `labels`, its `item_type` (the issue type only, lower-cased) and, for
    a label just added, that `label`; the routing layer keeps it or drops it
    (`DoraConfig.counts_incident`). Issues with neither labels nor a type give nothing.
    """
    kind = issue_type.lower() if issue_type else None
    if label is None and not fields.get("labels") and kind != "incident":
        return
    batch.add(
        type_,
        item=fields["item"],
        at=at,
        service=service,
        project=fields["project"],
        kind="issue",
        labels=fields.get("labels"),
        item_type=kind,
        label=label,
    )


# --- links between items ------------------------------------------------------------------------

_REF = r"(?:[\w.-]+(?:/[\w.-]+)+)?#\d+\b"
#: A closing keyword and the references it closes: `Fixes #1`, `Closes #1, o/r#2 and #3`.
_CLOSES = re.compile(
    r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?|implement(?:s|ed)?)\s*:?\s+"
    rf"(?P<refs>{_REF}(?:\s*(?:,|\band\b|&)?\s*{_REF})*)",
    re.IGNORECASE,
)
_ONE_REF = re.compile(r"(?P<repo>[\w.-]+(?:/[\w.-]+)+)?#(?P<num>\d+)")
_JIRA_KEY = re.compile(r"(?<![A-Za-z0-9])([A-Z][A-Z0-9]+-[1-9]\d*)(?!\w)")
#: Prefixes that look like Jira keys but are standards (UTF-8, SHA-256, ISO-8601, ...).
_NOT_JIRA = re.compile(r"UTF|SHA|ISO|RFC|CVE|CWE|HTTPS?|TLS|SSL|AES|MD|PEP|IPV[46]?|X|GPT|ES|ECMA")


def links_from(texts: Iterable[Any], source: str, repo: str, sep: str = "#") -> tuple[str, ...]:
    """Qualified ids of items the texts close (`Fixes #12`, `closes o/r#3`) or name (Jira keys)."""
    found: list[str] = []
    for raw in texts:
        if not isinstance(raw, str):
            continue
        for closing in _CLOSES.finditer(raw):
            for match in _ONE_REF.finditer(closing["refs"]):
                found.append(f"{source}:{match['repo'] or repo}{sep}{match['num']}")
        for key in _JIRA_KEY.findall(raw):
            if not _NOT_JIRA.fullmatch(key.split("-", 1)[0]):
                found.append(f"jira:{key}")
    return tuple(dict.fromkeys(found))


# --- signatures -----------------------------------------------------------------------------------


def standard_webhook_ok(secret: bytes, raw_body: bytes, headers: Headers) -> bool:
    """Standard Webhooks `webhook-signature: v1,<base64 HMAC-SHA256("{id}.{ts}.{body}")>`.

    A `whsec_`-prefixed secret is base64-decoded to get the key (the spec's convention); any other
    secret is used as is. The header may list several space-separated signatures.
    """
    wid, ts, sigs = (
        headers.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature")
    )
    if not (wid and ts and sigs):
        return False
    key = secret
    if secret.startswith(b"whsec_"):
        try:
            key = base64.b64decode(secret[6:], validate=True)
        except (binascii.Error, ValueError):
            key = secret
    expected = standard_webhook_signature(key, wid, ts, raw_body)
    return any(same(sig, expected) for sig in sigs.split())


def require(condition: bool, reason: str) -> None:
    if not condition:
        raise SignatureError(reason)


def body_key(body: Any, drop: Iterable[str] = ()) -> str:
    """A digest of the whole JSON body (minus volatile top-level keys), keys sorted."""
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in set(drop)}
    return content_key(json.dumps(body, sort_keys=True, default=str))
