"""One place that reads the environment: `Settings` built once and passed in."""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

EARTH_SEARCH_V1 = "https://earth-search.aws.element84.com/v1"


class Settings(BaseSettings):
    """Every knob of the service; environment variables are prefixed `DEEPRES_`."""

    model_config = SettingsConfigDict(env_prefix="DEEPRES_", env_file=".env", extra="ignore")

    home: Path = Path("./var")
    database_url: str | None = None
    broker_url: str | None = None
    broker_key_prefix: str | None = Field(
        default=None, description="prefix for every Redis key, so deployments can share a Redis"
    )
    storage_url: str | None = None
    catalog_url: str = EARTH_SEARCH_V1
    catalog_collection: str = "sentinel-2-l2a"
    public_url: str | None = Field(
        default=None,
        description="base URL of links in answers and webhooks; default http://HOST:PORT",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    secret_key: str | None = Field(default=None, description="server key; generated under home")

    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"

    webhook_allow_private: bool = False
    webhook_timeout_seconds: float = 15.0
    webhook_retry_delays: str = "5,300,1800,7200,18000,36000,50400,72000,86400"

    jwt_lifetime_seconds: int = 36000
    link_expiry_seconds: int = 7 * 24 * 3600
    task_lease_seconds: int = Field(
        default=60,
        ge=1,
        description="a date being processed is held this long and renewed by a heartbeat; "
        "queued work and searches are held twice as long",
    )
    scheduler_tick_seconds: float = 5.0
    worker_concurrency: int = 2
    api_workers: int = Field(
        default=0, ge=0, description="API processes `deepres serve` runs (0: one per core, up to 4)"
    )
    delivery_concurrency: int = Field(
        default=8, ge=1, description="webhook deliveries sent at once, apart from processing"
    )
    shutdown_grace_seconds: float = Field(
        default=25.0, description="how long a stopping process waits for its children"
    )
    webhook_rate_per_minute: int = Field(
        default=60, ge=0, description="webhook attempts per client and minute (0: no limit)"
    )
    catalog_max_workers: int = 8

    default_model: str = "deepres-s2sr"
    output_scale: int = 4
    tile_size_px: int = 512
    onnx_threads: int = 0

    rate_limit_per_minute: int = Field(default=600, description="per client and API process")
    failed_auth_per_minute: int = Field(
        default=20, description="failed authentications per address and minute before 429"
    )
    metrics_token: str | None = Field(
        default=None, description="when set, /metrics wants Authorization: Bearer <token>"
    )
    metrics_per_minute: int = Field(default=120, description="/metrics requests per address")
    max_body_bytes: int = 5 * 1024 * 1024
    max_vertices: int = 10_000

    min_hectares: float = 3.0
    max_hectares: float = 25_000.0

    @cached_property
    def resolved_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home.resolve()

    @property
    def effective_public_url(self) -> str:
        """`public_url`, else the address the API listens on (loopback for a wildcard)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(self.host, self.host)
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def effective_api_workers(self) -> int:
        """`api_workers`, or one per core (at most 4) when it is 0."""
        return self.api_workers or max(1, min(4, os.cpu_count() or 1))

    @property
    def queue_lease_seconds(self) -> int:
        """How long queued work and searches are held before the scheduler sends them again."""
        return 2 * self.task_lease_seconds

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.resolved_home / 'deepres.db'}"

    @property
    def effective_broker_url(self) -> str:
        return self.broker_url or f"sqla+sqlite:///{self.resolved_home / 'broker.db'}"

    @property
    def effective_storage_url(self) -> str:
        return self.storage_url or (self.resolved_home / "results").as_uri()

    @property
    def models_dir(self) -> Path:
        """Where `deepres sr register` keeps user models (beside the shipped ones)."""
        return self.home / "models"

    @property
    def retry_delays(self) -> list[float]:
        return [float(x) for x in self.webhook_retry_delays.split(",") if x.strip()]

    @cached_property
    def server_key(self) -> bytes:
        """The server secret: from `DEEPRES_SECRET_KEY`, else a key file kept under home."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.resolved_home / "secret.key"
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()
