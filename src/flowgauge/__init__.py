"""flowgauge: exact, real-time flow and DORA metrics from your tools' webhooks."""

__version__ = "0.1.0"
