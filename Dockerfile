# The flowgauge image: one image for `flowgauge ingest` and `flowgauge worker` (the command picks).
# Build: docker build -t flowgauge .   (docker-compose.yml builds it for the stack)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# pyproject.toml names README.md as the readme, so setuptools needs it to build.
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . && rm -rf /src

# Unprivileged user; local state (table stores, the ingester's spool) under /var/lib/flowgauge.
RUN useradd --system --uid 10001 --home-dir /var/lib/flowgauge --create-home flowgauge
USER flowgauge
WORKDIR /var/lib/flowgauge
ENV FLOWGAUGE_DATA_DIR=/var/lib/flowgauge \
    FLOWGAUGE_INGEST_BIND=0.0.0.0:8080 \
    FLOWGAUGE_METRICS_BIND=0.0.0.0:9464

# 8080: ingester (webhooks, /healthz, /readyz, /metrics); 9464: worker (/metrics, /readyz).
EXPOSE 8080 9464
ENTRYPOINT ["flowgauge"]
CMD ["ingest"]
