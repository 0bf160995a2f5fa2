"""Webhook sources: one module per provider, each with pure `verify` and `normalize`.

`REGISTRY` is the one list of sources: what the ingester accepts on `POST /webhooks/{source}`
(each has a `FLOWGAUGE_<NAME>_SECRET` setting). `PROVIDERS` are its platforms with a native
adapter: every source but the generic one. Each normalizer also reads item-grouped bundles
(`sources.bundle`: what `flowgauge import` writes).
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
PROVIDERS: tuple[str, ...] = tuple(name for name in REGISTRY if name != generic.NAME)

__all__ = ["PROVIDERS", "REGISTRY", "Headers", "PayloadError", "SignatureError", "Source"]
