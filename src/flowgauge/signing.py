"""HMAC-SHA256 webhook signatures: the one place they are computed.

The source adapters check them (`sources/_common.py`, `sources/_native.py`), and whatever sends
webhooks to the ingester computes them here too: the demo feed, `flowgauge replay`, the tests
and the benchmarks. A secret may be given as text or bytes; text is UTF-8.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

#: The prefix of the `sha256=<hex>` form (GitHub, Jira, the generic source).
SHA256_PREFIX = "sha256="


def _bytes(secret: bytes | str) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def hmac_hex(secret: bytes | str, body: bytes, algorithm: str = "sha256") -> str:
    """The hex HMAC of `body` (Plane and Linear send it bare; `algorithm="sha1"` for GitHub's
    legacy `X-Hub-Signature`)."""
    return hmac.new(_bytes(secret), body, getattr(hashlib, algorithm)).hexdigest()


def sha256_signature(secret: bytes | str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256>`: GitHub's `X-Hub-Signature-256`, Jira's, and the generic
    source's `X-Flowgauge-Signature`."""
    return SHA256_PREFIX + hmac_hex(secret, body)


def standard_webhook_signature(
    key: bytes | str, webhook_id: str, timestamp: str, body: bytes
) -> str:
    """Standard Webhooks: `v1,<base64 HMAC-SHA256("{id}.{timestamp}.{body}")>`.

    `key` is the HMAC key itself (a `whsec_` secret already base64-decoded by the caller).
    """
    signed = _utf8(webhook_id) + b"." + _utf8(timestamp) + b"." + body
    digest = hmac.new(_bytes(key), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def same(given: str, expected: str) -> bool:
    """Constant-time comparison; undecodable header bytes compare unequal, never raise."""
    return hmac.compare_digest(_utf8(given), _utf8(expected))


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")
