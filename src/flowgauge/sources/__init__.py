"""Webhook sources: one module per provider, each with pure `verify` and `normalize`.

`REGISTRY` is the explicit list of what the ingester accepts on `POST /webhooks/{source}`. Each
normalizer also reads item-grouped bundles (`sources.bundle`: what `flowgauge import` writes).
"""

from __future__ import annotations

from flowgauge.sources import generic, github, gitlab, jira, linear, plane
from flowgauge.sources.base import Headers, PayloadError, SignatureError, Source
from flowgauge.sources.bundle import bundled

REGISTRY: dict[str, Source] = {
    module.NAME: Source(
        name=module.NAME,
        verify=module.verify,
        normalize=bundled(module.normalize),
        delivery_id=module.delivery_id,
    )
    for module in (generic, github, gitlab, jira, plane, linear)
}

__all__ = ["REGISTRY", "Headers", "PayloadError", "SignatureError", "Source"]
