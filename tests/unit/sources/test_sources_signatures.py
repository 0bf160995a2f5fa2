"""Each platform's signature scheme: accepted when right, SignatureError when wrong or missing."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from types import ModuleType

import pytest

from flowgauge.signing import hmac_hex, standard_webhook_signature
from flowgauge.sources import REGISTRY, SignatureError, github, gitlab, jira, linear, plane

SECRET = b"s3cret"
BODY = b'{"action":"opened"}'
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_github_published_test_vector() -> None:
    secret, body = b"It's a Secret to Everybody", b"Hello, World!"
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    github.verify(secret, body, {"x-hub-signature-256": expected}, NOW)
    with pytest.raises(SignatureError):
        github.verify(secret, body + b" ", {"x-hub-signature-256": expected}, NOW)


# (module, header, how the header value is formed) for the plain body-HMAC schemes
HMAC_SCHEMES = [
    (github, "x-hub-signature-256", "sha256="),
    (jira, "x-hub-signature", "sha256="),
    (plane, "x-plane-signature", ""),
]


@pytest.mark.parametrize(("module", "header", "prefix"), HMAC_SCHEMES)
def test_body_hmac_schemes(module: ModuleType, header: str, prefix: str) -> None:
    verify = module.verify
    good = prefix + hmac_hex(SECRET, BODY)
    verify(SECRET, BODY, {header: good}, NOW)
    verify(SECRET, BODY, {header: good.upper() if not prefix else good}, NOW)
    for headers in (
        {},
        {header: ""},
        {header: prefix + hmac_hex(b"other", BODY)},
        {header: hmac_hex(SECRET, BODY) if prefix else "sha256=" + good},
    ):
        with pytest.raises(SignatureError):
            verify(SECRET, BODY, headers, NOW)


def test_jira_refuses_a_github_style_header_name() -> None:
    with pytest.raises(SignatureError):
        jira.verify(SECRET, BODY, {"x-hub-signature-256": "sha256=" + hmac_hex(SECRET, BODY)}, NOW)


def test_gitlab_token_is_compared_as_plain_text() -> None:
    gitlab.verify(SECRET, BODY, {"x-gitlab-token": "s3cret"}, NOW)
    for headers in (
        {},
        {"x-gitlab-token": ""},
        {"x-gitlab-token": "s3cre"},
        {"x-gitlab-token": "s3cret "},
    ):
        with pytest.raises(SignatureError):
            gitlab.verify(SECRET, BODY, headers, NOW)


def standard_headers(
    secret: bytes, body: bytes, sent: datetime, wid: str = "msg_1"
) -> dict[str, str]:
    ts = str(int(sent.timestamp()))
    return {
        "webhook-id": wid,
        "webhook-timestamp": ts,
        "webhook-signature": standard_webhook_signature(secret, wid, ts, body),
    }


def test_gitlab_webhook_signature() -> None:
    gitlab.verify(SECRET, BODY, standard_headers(SECRET, BODY, NOW), NOW)
    several = standard_headers(SECRET, BODY, NOW)
    several["webhook-signature"] = "v1,AAAA " + several["webhook-signature"]
    gitlab.verify(SECRET, BODY, several, NOW)
    refused = [
        standard_headers(b"other", BODY, NOW),
        {**standard_headers(SECRET, BODY, NOW), "webhook-id": "msg_2"},
        standard_headers(SECRET, BODY, NOW - timedelta(minutes=6)),
    ]
    for headers in refused:
        with pytest.raises(SignatureError):
            gitlab.verify(SECRET, BODY, headers, NOW)
    with pytest.raises(SignatureError):
        gitlab.verify(SECRET, BODY + b"x", standard_headers(SECRET, BODY, NOW), NOW)


def test_gitlab_webhook_signature_with_a_whsec_secret() -> None:
    key = b"0123456789abcdef"
    secret = b"whsec_" + base64.b64encode(key)
    gitlab.verify(secret, BODY, standard_headers(key, BODY, NOW), NOW)


def linear_body(sent: datetime) -> bytes:
    return json.dumps(
        {"action": "create", "type": "Issue", "webhookTimestamp": int(sent.timestamp() * 1000)}
    ).encode()


@pytest.mark.parametrize(
    ("age_s", "accepted"), [(0, True), (30, True), (-30, True), (61, False), (-61, False)]
)
def test_linear_timestamp_window(age_s: int, accepted: bool) -> None:
    body = linear_body(NOW - timedelta(seconds=age_s))
    headers = {"linear-signature": hmac_hex(SECRET, body)}
    if accepted:
        linear.verify(SECRET, body, headers, NOW)
    else:
        with pytest.raises(SignatureError, match="60 s"):
            linear.verify(SECRET, body, headers, NOW)


def test_linear_signature_and_header_timestamp_fallback() -> None:
    body = b'{"action":"create","type":"Issue"}'
    signed = {"linear-signature": hmac_hex(SECRET, body)}
    with pytest.raises(SignatureError, match="webhookTimestamp"):
        linear.verify(SECRET, body, signed, NOW)
    ms = str(int(NOW.timestamp() * 1000) - 5000)
    linear.verify(SECRET, body, {**signed, "linear-timestamp": ms}, NOW)
    for headers in ({}, {"linear-signature": hmac_hex(b"other", body), "linear-timestamp": ms}):
        with pytest.raises(SignatureError):
            linear.verify(SECRET, body, headers, NOW)


@pytest.mark.parametrize("name", ["github", "gitlab", "jira", "plane", "linear"])
def test_every_native_source_is_registered(name: str) -> None:
    source = REGISTRY[name]
    assert source.name == name
    with pytest.raises(SignatureError):
        source.verify(SECRET, BODY, {}, NOW)


def test_a_signature_header_with_undecodable_bytes_is_refused_not_a_crash() -> None:
    from flowgauge.sources import REGISTRY, SignatureError

    bad = "sha256=\udcff\udcfe"  # what a server's surrogateescape decoding hands over
    for name, source in REGISTRY.items():
        headers = {
            "x-hub-signature-256": bad,
            "x-hub-signature": bad,
            "x-plane-signature": bad,
            "linear-signature": bad,
            "x-flowgauge-signature": bad,
            "x-gitlab-token": bad,
            "webhook-id": "\udcff",
            "webhook-timestamp": "1",
            "webhook-signature": bad,
        }
        try:
            source.verify(b"secret", b"{}", headers, None)
        except SignatureError:
            continue
        raise AssertionError(f"{name} accepted an undecodable signature")
