"""The one settings object: every knob vitrieve has, read from `VITRIEVE_*` variables.

Everything (CLI, workers, UI, tests) builds a `Settings` and passes it down, so a test can run a
whole pipeline against a temporary home just by constructing one.
"""

from __future__ import annotations

import ipaddress
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, SecretStr, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from vitrieve.core.errors import VitrieveError
from vitrieve.core.redact import redact

DEFAULT_MODEL = "Genius-Society/ViT"
ENV_PREFIX = "VITRIEVE_"
MAX_DOWNLOAD_TTL = 86_400  # a day: a download link is for the page the user is looking at


class InvalidSettingError(VitrieveError, ValueError):
    """A VITRIEVE_* value vitrieve cannot use; the message names the variable and the rule, e.g.
    'VITRIEVE_BATCH_SIZE=-3: must be >= 0'. (A ValueError too, like pydantic's own error.)"""


def _ip_networks(value: str) -> str:
    """A comma-separated list of IP addresses or networks (VITRIEVE_UI_TRUSTED_PROXIES)."""
    for item in filter(None, (part.strip() for part in value.split(","))):
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise PydanticCustomError(
                "ip_networks",
                "'{item}' is not an IP address or network (comma-separated, e.g. "
                "127.0.0.1,10.0.0.0/8)",
                {"item": item},
            ) from None
    return value


# Rules of VITRIEVE_KEEPER_PREFER (search/duplicates/prefer.py gives each its meaning), plus
# "folder:PATH".
KEEPER_PREFERENCES = (
    "raw",
    "heic",
    "jpeg",
    "png",
    "camera",
    "resolution",
    "largest",
    "oldest",
    "newest",
)


def keeper_preferences(value: str) -> tuple[str, ...]:
    """The rules of a VITRIEVE_KEEPER_PREFER value, in order (names lowercased, folders made
    absolute); the first bad rule is a one-line error naming it."""
    rules = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, colon, folder = item.partition(":")
        name = name.strip().lower()
        if colon and name == "folder":
            path = Path(folder.strip()).expanduser()
            if not folder.strip() or not path.is_absolute():
                raise PydanticCustomError(
                    "keeper_prefer",
                    "'{item}' needs an absolute folder (e.g. folder:/photos/originals)",
                    {"item": item},
                )
            rules.append(f"folder:{path.resolve()}")
        elif not colon and name in KEEPER_PREFERENCES:
            rules.append(name)
        else:
            raise PydanticCustomError(
                "keeper_prefer",
                "'{item}' is not a keeper preference (comma-separated, each one of {names}, "
                "folder:PATH)",
                {"item": item, "names": ", ".join(KEEPER_PREFERENCES)},
            )
    return tuple(rules)


def _keeper_prefer(value: str) -> str:
    keeper_preferences(value)
    return value


# Camera RAW extensions LibRaw reads (indexer/raw_decode.py decodes a file of any of them);
# VITRIEVE_RAW_EXTENSIONS picks which of them ingest scans.
CAMERA_RAW_EXTENSIONS = frozenset(
    [
        ".3fr",
        ".arw",
        ".cr2",
        ".cr3",
        ".crw",
        ".dcr",
        ".dng",
        ".erf",
        ".iiq",
        ".k25",
        ".kdc",
        ".mef",
        ".mos",
        ".mrw",
        ".nef",
        ".nrw",
        ".orf",
        ".pef",
        ".raf",
        ".raw",
        ".rw2",
        ".rwl",
        ".sr2",
        ".srf",
        ".srw",
        ".x3f",
    ]
)
DEFAULT_RAW_EXTENSIONS = ".dng,.cr2,.cr3,.nef,.arw,.orf,.rw2,.raf,.pef,.srw"


def raw_extensions(value: str) -> frozenset[str]:
    """The extensions of a VITRIEVE_RAW_EXTENSIONS value (lowercase, with the dot); one that
    LibRaw does not read is a one-line error naming it."""
    found = set()
    for item in filter(None, (part.strip().lower() for part in value.split(","))):
        ext = item if item.startswith(".") else f".{item}"
        if ext not in CAMERA_RAW_EXTENSIONS:
            raise PydanticCustomError(
                "raw_extensions",
                "'{item}' is not a camera RAW extension vitrieve reads (comma-separated, each "
                "one of {names})",
                {"item": item, "names": " ".join(sorted(CAMERA_RAW_EXTENSIONS))},
            )
        found.add(ext)
    return frozenset(found)


def _raw_extensions(value: str) -> str:
    raw_extensions(value)
    return value


class Settings(BaseSettings):
    # inf and nan are refused in every number: "VITRIEVE_UI_DOWNLOAD_TTL=inf" would make links
    # that never expire, "VITRIEVE_RESCAN_INTERVAL=nan" a loop that never waits.
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", allow_inf_nan=False)

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
    precision: Literal["auto", "fp32", "bf16", "fp16", "int8-fp32", "int8-bf16"] = Field(
        "auto", description="Compute precision; int8-* means int8 weights (OpenVINO, CPU)."
    )
    runtime: Literal["auto", "torch", "openvino"] = Field(
        "auto", description="CPU runtime; auto measures which is fastest and faithful here."
    )
    batch_size: int = Field(0, ge=0, description="Images per forward pass; 0 picks per device.")
    decode_workers: int = Field(0, ge=0, description="Decode threads; 0 means one per core.")
    # -- what the reader and decoder accept (a bad file becomes one failure with a reason) --
    max_file_size: int = Field(
        2 * 1024**3,
        ge=1,
        description="Bytes; larger files are refused unread (a 1 TB sparse '.jpg' never loads).",
    )
    max_image_pixels: int = Field(
        300_000_000,
        ge=1,
        description="Decoded pixels; larger images are refused as decompression bombs. "
        "The default admits 250 MP panoramas and refuses a 20000x20000 bomb.",
    )
    raw_extensions: Annotated[str, AfterValidator(_raw_extensions)] = Field(
        DEFAULT_RAW_EXTENSIONS,
        description="Camera RAW files ingest picks up (comma-separated extensions, decoded "
        "through LibRaw); empty: none.",
    )
    broker_url: str | None = Field(None, description="Celery broker; unset runs in-process.")
    # -- vector index policy (docs/INDEXING.md) --
    flat_max: int = Field(
        50_000, ge=0, description="Exact (flat) index up to this many vectors; IVF beyond."
    )
    index_memory_budget_mb: int = Field(
        2048, ge=1, description="RAM an approximate index may use; picks SQ8 or PQ codes."
    )
    index_recall_floor: float = Field(
        0.95, gt=0, le=1, description="Least recall@10 vs exact search a new index must reach."
    )
    index_rebuild_growth: float = Field(
        2.0, gt=1, description="Retrain an approximate index when N grows (or shrinks) this much."
    )
    index_recall_queries: int = Field(
        1000, ge=20, description="Stored vectors used as queries to measure recall per build."
    )
    index_gpu: bool = Field(True, description="Search on the GPU when faiss-gpu and a GPU exist.")
    gpu_decode: bool = Field(
        True, description="On CUDA, decode JPEGs on the GPU (nvJPEG via torchvision) if present."
    )
    # Background ingestion (worker/). A message a worker took but never acknowledged (it died)
    # goes back to the queue after this long, so it must exceed the longest task (one batch).
    visibility_timeout: int = Field(
        3600, ge=1, description="Seconds before an unacknowledged task is redelivered."
    )
    job_batch_size: int = Field(
        256, ge=1, description="Images per embed task (one unit of redelivery and progress)."
    )
    rescan_interval: float = Field(
        300.0, gt=0, description="Seconds between periodic rescans of watched roots."
    )
    settle_seconds: float = Field(
        2.0, ge=0, description="Background jobs skip files modified this recently (still copying)."
    )
    worker_concurrency: int = Field(
        0, ge=0, description="Worker processes for scan/embed; 0: one per GPU, else one."
    )
    # -- duplicates (docs/DUPLICATES.md) --
    dup_series_seconds: float = Field(
        3.0,
        ge=0,
        description="Near-duplicates of one camera and resolution shot within this many seconds "
        "of each other are a 'series' (a burst: keep the best shot), not copies; 0: off.",
    )
    raw_pairs: bool = Field(
        True,
        description="A camera RAW and a JPEG/HEIF of the same stem, folder and capture time are "
        "one photo (search shows it once; dups moves the two together); false: separate files.",
    )
    keeper_prefer: Annotated[str, AfterValidator(_keeper_prefer)] = Field(
        "",
        description="Your keeper rules, applied before the built-in ones, first rule first: "
        "comma-separated raw, heic, jpeg, png, folder:PATH, camera, resolution, largest, "
        "oldest, newest (e.g. raw,heic,folder:/photos/originals); empty: the built-in order.",
    )
    calibration_images: int = Field(
        200,
        ge=1,
        description="Catalog photos `vitrieve calibrate` samples (7 in-memory edits each); 200 "
        "is about 3 minutes of ViT-B/16 on a 2-core CPU with the auto runtime, 6 with torch "
        "fp32 (docs/BENCHMARKS.md).",
    )
    auto_calibrate: bool = Field(
        True,
        description="Calibrate the near-duplicate threshold after an ingest that leaves at "
        "least 200 embedded images of a model with no calibration yet (at the end of "
        "`vitrieve ingest`, or as a worker task with a broker).",
    )
    calibration_false_rate: float = Field(
        0.01,
        gt=0,
        lt=0.5,
        description="Share of unrelated nearest neighbours the calibrated 'balanced' threshold "
        "may group; 'strict' allows a tenth of it, 'loose' five times it.",
    )
    # -- the web UI (docs/UI.md) --
    ui_login_delay: float = Field(
        1.0,
        gt=0,
        description="Seconds a client waits after a wrong password; doubles with each further one.",
    )
    ui_login_delay_max: float = Field(
        300.0, gt=0, description="The longest wait between password tries of one client."
    )
    ui_client_ip_header: str | None = Field(
        None,
        description="Behind a reverse proxy: the header holding the client's address (e.g. "
        "X-Forwarded-For), believed only from VITRIEVE_UI_TRUSTED_PROXIES (its right-most "
        "address that is not a proxy is used). Unset: the connection's own address.",
    )
    # -- who may reach the web UI (docs/UI.md, Access control) --
    ui_trusted_proxies: Annotated[str, AfterValidator(_ip_networks)] = Field(
        "127.0.0.0/8,::1",
        description="Comma-separated addresses or networks of the reverse proxies whose "
        "VITRIEVE_UI_CLIENT_IP_HEADER is believed (default: this machine).",
    )
    ui_password: SecretStr | None = Field(
        None,
        description="The UI's shared password (wins over `password` in .streamlit/secrets.toml);"
        " empty: none.",
    )
    ui_allow_no_password: bool = Field(
        False,
        description="Let `vitrieve ui` listen beyond localhost with no password or OIDC "
        "configured (as --no-password does): anyone who reaches the port can use it.",
    )
    ui_download_ttl: float = Field(
        120.0,
        gt=0,
        le=MAX_DOWNLOAD_TTL,
        description="Seconds a 'Download original' link works (only for the browser it was "
        "shown to, and only while its session is logged in and has not moved on).",
    )

    def __init__(self, **values: Any) -> None:
        # Every process (CLI, workers, UI) builds its Settings here, so this is the one place a
        # bad variable becomes a one-line message instead of pydantic's multi-line report.
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise InvalidSettingError(describe_invalid(exc)) from None

    @field_validator("home", "database_url", "model", "hub_cache", mode="before")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        # `VITRIEVE_HOME=` would make the current folder the data directory (Path("") is "."),
        # `VITRIEVE_DATABASE_URL=` would quietly fall back to another catalog: a variable that
        # is set must say something; unset it for the default.
        if isinstance(value, str) and not value.strip():
            message = "must not be empty (unset it for the default)"
            raise PydanticCustomError("empty_setting", message)
        return value

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        # Resolved once so the scanner can exclude the data dir wherever it sits.
        return value.expanduser().resolve()

    @property
    def raw_extension_set(self) -> frozenset[str]:
        """VITRIEVE_RAW_EXTENSIONS as a set (lowercase, with the dot)."""
        return raw_extensions(self.raw_extensions)

    @cached_property
    def catalog_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'catalog.db'}"

    @property
    def catalog_url_setting(self) -> str:
        """What to blame in a message about `catalog_url`: the variable the user set."""
        return "VITRIEVE_DATABASE_URL" if self.database_url else "catalog in VITRIEVE_HOME"

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
            try:
                d.mkdir(parents=True, exist_ok=True)
            except FileExistsError:
                raise InvalidSettingError(
                    f"VITRIEVE_HOME={self.home}: {d} is not a directory"
                ) from None
            except OSError as exc:
                raise InvalidSettingError(
                    f"VITRIEVE_HOME={self.home}: cannot create {d}: {exc.strerror}"
                ) from None


_RULES = {
    "greater_than_equal": "must be >= {ge}",
    "greater_than": "must be > {gt}",
    "less_than_equal": "must be <= {le}",
    "less_than": "must be < {lt}",
    "literal_error": "must be one of {expected}",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_parsing": "must be true or false (1/0, yes/no, on/off)",
}


def describe_invalid(exc: ValidationError) -> str:
    """'VITRIEVE_BATCH_SIZE=-3: must be >= 0', one clause per bad variable, on one line."""
    problems = []
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        name = ENV_PREFIX + field.upper()
        rule = _RULES.get(error["type"])
        ctx = {k: _plain(v) for k, v in error.get("ctx", {}).items()}
        text = rule.format(**ctx) if rule else error["msg"]
        value = error.get("input")
        shown = f"{name}={value}" if isinstance(value, str | int | float | Path) else name
        problems.append(f"{shown}: {text}")
    return redact("; ".join(problems)).replace("\n", " ")


def _plain(value: object) -> object:
    """1.0 -> 1, so a bound reads as written in the Field."""
    return int(value) if isinstance(value, float) and value.is_integer() else value
