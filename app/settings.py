"""One settings class, read from `KRAVBRO_*` environment variables, built lazily."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class ApiKey(BaseModel):
    """One caller's key: who it is and what it may do.

    Roles: `fagsystem` (with `source`: may post to and read its own source only), `operations`,
    `reconciliation`, `auditor`, `admin`. Give the key itself (`key`) or only its SHA-256
    (`key_sha256`, hex) so the plain key need not sit in the environment.
    """

    principal: str
    roles: list[str]
    source: str | None = None
    key: SecretStr | None = None
    key_sha256: str | None = None


DEMO_KEYS = [
    ApiKey(principal="demo-ky", roles=["fagsystem"], source="ky", key=SecretStr("demo-ky-key")),
    ApiKey(principal="demo-ksd", roles=["fagsystem"], source="ksd", key=SecretStr("demo-ksd-key")),
    ApiKey(principal="demo-oir", roles=["fagsystem"], source="oir", key=SecretStr("demo-oir-key")),
    ApiKey(principal="demo-ops", roles=["operations", "auditor"], key=SecretStr("demo-ops-key")),
    ApiKey(principal="demo-admin", roles=["admin"], key=SecretStr("demo-admin-key")),
]


class Settings(BaseSettings):
    """Everything kravbro can be told from outside."""

    model_config = SettingsConfigDict(
        env_prefix="KRAVBRO_", env_nested_delimiter="__", extra="ignore"
    )

    database_url: str = Field(
        default_factory=lambda: f"sqlite:///{ROOT / 'var' / 'kravbro.db'}",
        description="SQLAlchemy URL; sqlite:///path or postgresql+psycopg://user@host/db",
    )
    database_pool_size: int = 10
    database_prepared_writes: bool = Field(
        default=True,
        description=(
            "PostgreSQL: prepare intake's inserts on the server (off behind a pooler in "
            "transaction mode that does not keep prepared statements)"
        ),
    )
    api_keys: list[ApiKey] = []
    demo: bool = Field(
        default=False, description="accept the documented demo keys (never in production)"
    )
    claimant_id: str = Field(default="1234", pattern=r"^[0-9]{4}$", description="fordringshaver-ID")
    claimant_se: str = Field(default="29189846", description="the municipality's SE number")
    max_body_bytes: int = 10 * 1024 * 1024
    contracts_dir: Path = ROOT / "contracts"
    log_level: str = "INFO"
    clock_control: bool = Field(
        default=False, description="let admins set the service clock (demos, scenario tests)"
    )
    limitation_horizon_days: int = 90
    # PSRM
    psrm_url: str | None = Field(
        default=None,
        description="PSRM's base URL; unset: the simulator inside this server (/psrm-sim)",
    )
    psrm_simulator: bool = Field(
        default=True, description="mount the PSRM simulator inside `kravbro serve` at /psrm-sim"
    )
    psrm_is_simulator: bool = Field(
        default=True,
        description="the PSRM at psrm_url is the simulator (hearing decisions go to it)",
    )
    psrm_submit_timeout_seconds: float = 60.0
    psrm_receipt_timeout_seconds: float = 900.0
    simulator_receipt_delay_seconds: float = 0.0
    # transfer workers
    worker_embedded: bool | None = Field(
        default=None, description="run a transfer worker inside the server (default: on SQLite)"
    )
    worker_batch_size: int = Field(default=1000, ge=1, le=10_000)
    worker_max_attempts: int = Field(default=8, ge=1)
    worker_backoff_base_seconds: float = 2.0
    worker_backoff_max_seconds: float = 600.0
    worker_lease_seconds: float = 300.0
    worker_receipt_poll_seconds: float = 5.0
    worker_idle_seconds: float = 0.5
    worker_sweep_seconds: float = 60.0
    breaker_failures: int = 5
    breaker_reset_seconds: float = 30.0
    requeue_stagger_seconds: float = 2.0

    def keys(self) -> list[ApiKey]:
        """Return the keys in force: configured ones, plus the demo keys in demo mode."""
        return [*self.api_keys, *(DEMO_KEYS if self.demo else [])]


@lru_cache
def get_settings() -> Settings:
    """Build the settings once, on first use (never at import time)."""
    return Settings()
