"""The thin HTTP ingester."""
