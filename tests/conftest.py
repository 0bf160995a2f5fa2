"""Shared test configuration.

Webhook payloads: the project's own golden payloads live in `tests/fixtures/webhooks/<source>/`
(tests/unit/sources/sources_helpers.py reads them); the shared corpus beside the repository
(`../shared/webhooks`) is an extra acceptance layer, skipped when absent.
"""
