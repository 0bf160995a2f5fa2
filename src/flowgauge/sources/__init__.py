"""Webhook sources: one module per provider, each with pure `verify` and `normalize`.

`REGISTRY` is the explicit list of what the ingester accepts on `POST /webhooks/{source}`.
"""

from __future__ import annotations

from flowgauge.sources import generic, github, gitlab, jira, linear, plane
from flowgauge.sources.base import Headers, PayloadError, SignatureError, Source

REGISTRY: dict[str, Source] = {
    module.NAME: Source(
        name=module.NAME,
        verify=module.verify,
        normalize=module.normalize,
        delivery_id=module.delivery_id,
    )
    for module in (generic, github, gitlab, jira, plane, linear)
}

__all__ = ["REGISTRY", "Headers", "PayloadError", "SignatureError", "Source"]
