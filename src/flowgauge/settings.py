"""One frozen settings object, read from the environment (`FLOWGAUGE_*`).

Secrets are `SecretStr`, so they print as `**********` in logs, errors and reprs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def split_hostport(value: str) -> tuple[str, int]:
    """`127.0.0.1:8080` -> ("127.0.0.1", 8080); `[::1]:80` -> ("::1", 80)."""
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"not host:port: {value!r}")
    return host.strip("[]"), int(port)


class Settings(BaseSettings):
    """Everything a flowgauge process is told by its environment (CONTRACT.md, Settings)."""

    model_config = SettingsConfigDict(env_prefix="FLOWGAUGE_", frozen=True, extra="ignore")

    kafka: str | None = None
    broker_bind: str = "127.0.0.1:9092"
    config: Path | None = None
    ingest_bind: str = "127.0.0.1:8080"
    metrics_bind: str = "127.0.0.1:9464"
    data_dir: Path = Path("./.flowgauge")
    allow_unsigned: bool = False

    github_secret: SecretStr | None = None
    gitlab_secret: SecretStr | None = None
    jira_secret: SecretStr | None = None
    plane_secret: SecretStr | None = None
    linear_secret: SecretStr | None = None
    generic_secret: SecretStr | None = None

    # Internals with sensible defaults; documented in docs/operations.md.
    topic_prefix: str = "flowgauge"
    partitions: int = Field(default=4, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    embedded_broker: bool = False  # set by `up` / the tests: apply the Tansu workarounds
    # Consumer group session and heartbeat, seconds; unset: 2 / 0.5 on the embedded broker (fast
    # restarts), 10 / 3 on Apache Kafka, which refuses sessions under its
    # group.min.session.timeout.ms (6 s by default): the 2 s default failed every join there.
    session_timeout: float | None = Field(default=None, gt=0)
    heartbeat_interval: float | None = Field(default=None, gt=0)
    # Replicas of every topic flowgauge and Faust create (3 on a production cluster, with the
    # brokers' min.insync.replicas=2: every write is acks=all).
    replication_factor: int = Field(default=1, ge=1)
    # Faust's processing guarantee; docs/reliability.md has the measurements behind the default.
    processing_guarantee: Literal["at_least_once", "exactly_once"] = "at_least_once"
    worker_id: str = "worker"
    group_instance_id: str | None = None  # static membership (KIP-345), e.g. a pod name
    log_level: str = "INFO"  # `up` runs its children at WARNING so the URLs stay readable
    repair_interval: float = Field(default=5.0, gt=0)  # seconds between offset-gap checks
    # The worker's table store: "memory" rebuilds from the changelog at every start; "rocksdb"
    # keeps it under DATA_DIR/worker/<id> and reads only the changelog's new tail (bench/).
    store: Literal["memory", "rocksdb"] = "memory"
    # The ingester's spool (docs/reliability.md, "Broker outage").
    spool_max_bytes: int = Field(default=256 << 20, ge=64 << 10)  # bound of DATA_DIR/spool
    publish_timeout: float = Field(default=3.0, gt=0)  # a slower broker send is spooled instead

    @property
    def group_session(self) -> tuple[float, float]:
        """(session timeout, heartbeat interval) in seconds, defaults chosen by broker kind."""
        session = self.session_timeout or (2.0 if self.embedded_broker else 10.0)
        heartbeat = self.heartbeat_interval or (0.5 if self.embedded_broker else session / 3)
        return session, heartbeat

    def secret_for(self, source: str) -> bytes | None:
        secret: SecretStr | None = getattr(self, f"{source}_secret", None)
        return None if secret is None else secret.get_secret_value().encode()

    @property
    def bootstrap(self) -> str:
        """Where clients connect: FLOWGAUGE_KAFKA, else the embedded broker's address."""
        return self.kafka or self.broker_bind
