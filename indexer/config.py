"""The one settings object: every knob vitrieve has, read from `VITRIEVE_*` variables.

Everything (CLI, workers, UI, tests) builds a `Settings` and passes it down, so a test can run a
whole pipeline against a temporary home just by constructing one.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "Genius-Society/ViT"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VITRIEVE_", extra="ignore")

    home: Path = Field(Path(".vitrieve"), description="Data directory: catalog, index, caches.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the catalog; default SQLite file in HOME."
    )
    model: str = Field(
        DEFAULT_MODEL,
        description="Local model directory, ModelScope id or Hugging Face id of the ViT.",
    )
    hub_cache: Path | None = Field(
        None, description="Where hub downloads go; default: each hub's own cache."
    )
    offline: bool = Field(False, description="Never contact a model hub; use caches only.")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    batch_size: int = Field(0, ge=0, description="Images per forward pass; 0 picks per device.")
    decode_workers: int = Field(0, ge=0, description="Decode threads; 0 means one per core.")
    broker_url: str | None = Field(None, description="Celery broker; unset runs in-process.")

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        # Resolved once so the scanner can exclude the data dir wherever it sits.
        return value.expanduser().resolve()

    @cached_property
    def catalog_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'catalog.db'}"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def thumb_dir(self) -> Path:
        return self.home / "thumbs"

    def ensure_home(self) -> None:
        for d in (self.home, self.index_dir, self.cache_dir, self.thumb_dir):
            d.mkdir(parents=True, exist_ok=True)
