"""Fuzz: whatever JSON (or bytes) arrives, a source answers events, [] or PayloadError only.

Two generators per provider: arbitrary JSON values, and real payloads (the project's own, plus the
shared corpus when it is beside the repository) with one field anywhere in them replaced by an
arbitrary value or removed (which reaches the handlers).
"""

from __future__ import annotations

import contextlib
import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sources_helpers import CORPUS, corpus_files, corpus_raw, fixture_files, raw

from flowgauge.sources import PROVIDERS, REGISTRY, PayloadError, SignatureError

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "x-github-event": st.sampled_from(
            [
                "issues",
                "pull_request",
                "pull_request_review",
                "deployment_status",
                "projects_v2_item",
                "issue_dependencies",
                "sub_issues",
                "push",
                "ping",
            ]
        ),
        "x-github-delivery": st.text(max_size=300),
        "idempotency-key": st.text(max_size=20),
        "linear-delivery": st.text(max_size=20),
    },
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "2019-05-15T15:20:18Z",
            "None",
            "opened",
            "closed",
            "update",
            "Issue",
            "workflow::doing",
            "incident",
            "bug",
            "merge",
            "approved",
            "create",
        ]
    )
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)


def _samples(provider: str) -> list[Any]:
    found = [json.loads(raw(provider, name)) for name in fixture_files(provider)]
    if not CORPUS.is_dir():
        return found
    for name in corpus_files(provider):
        try:
            found.append(json.loads(corpus_raw(provider, name)))
        except ValueError:  # the corpus' doc fragments (test_sources_corpus.py)
            continue
    return found


SAMPLES = {p: _samples(p) for p in PROVIDERS}


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a JSON document."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += paths(inner, (*prefix, index))
    return found


PATHS = {p: [paths(body) for body in SAMPLES[p]] for p in PROVIDERS}


@st.composite
def mutated(draw: st.DrawFn, provider: str) -> Any:
    index = draw(st.integers(0, len(SAMPLES[provider]) - 1))
    body = copy.deepcopy(SAMPLES[provider][index])
    if provider == "linear" and draw(st.booleans()):
        body["type"] = "Issue"
        body["action"] = draw(st.sampled_from(["create", "update", "remove"]))
    where = draw(st.sampled_from(PATHS[provider][index]))
    parent = body
    for step in where[:-1]:
        parent = parent[step]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[where[-1]]
    else:
        parent[where[-1]] = draw(JSON)
    return body


def only_payload_errors(provider: str, headers: dict[str, str], body: Any) -> None:
    try:
        events = REGISTRY[provider].normalize(headers, body)
    except PayloadError:
        return
    assert isinstance(events, list)
    REGISTRY[provider].delivery_id(headers, body)


@pytest.mark.parametrize("provider", PROVIDERS)
@FUZZ
@given(headers=HEADERS, body=JSON | st.binary(max_size=40))
def test_arbitrary_json_or_bytes(provider: str, headers: dict[str, str], body: Any) -> None:
    only_payload_errors(provider, headers, body)


@pytest.mark.parametrize("provider", PROVIDERS)
@FUZZ
@given(data=st.data(), headers=HEADERS)
def test_real_payloads_with_one_field_broken(
    provider: str, data: st.DataObject, headers: dict[str, str]
) -> None:
    only_payload_errors(provider, headers, data.draw(mutated(provider)))


@pytest.mark.parametrize("provider", PROVIDERS)
@FUZZ
@given(
    secret=st.binary(max_size=20),
    body=st.binary(max_size=60),
    headers=st.dictionaries(
        st.sampled_from(
            [
                "x-hub-signature-256",
                "x-hub-signature",
                "x-gitlab-token",
                "webhook-id",
                "webhook-timestamp",
                "webhook-signature",
                "x-plane-signature",
                "linear-signature",
                "linear-timestamp",
            ]
        ),
        st.text(max_size=80),
    ),
)
def test_verify_raises_only_signature_errors(
    provider: str, secret: bytes, body: bytes, headers: dict[str, str]
) -> None:
    with contextlib.suppress(SignatureError):
        REGISTRY[provider].verify(secret, body, headers, datetime(2026, 1, 1, tzinfo=UTC))
