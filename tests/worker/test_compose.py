"""docker-compose.yml, checked by parsing it (Docker cannot run here): the services, their
health checks and start order, persistence, the GPU reservation and the read-only photos."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml  # a dev dependency: a missing install must fail this test, not skip it

COMPOSE = Path(__file__).parents[2] / "docker-compose.yml"
VITRIEVE_SERVICES = ("migrate", "indexer", "worker", "worker-cpu", "beat", "ui")


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def _command(service: dict) -> str:
    cmd = service.get("command", "")
    return " ".join(cmd) if isinstance(cmd, list) else cmd


def _mount(volume: str) -> tuple[str, str, str]:
    """'source:target[:mode]' -> parts; the source may hold ':' (e.g. ${PHOTOS:-./photos})."""
    mode = ""
    if volume.endswith((":ro", ":rw")):
        volume, mode = volume[:-3], volume[-2:]
    source, target = volume.rsplit(":", 1)
    return source, target, mode


def test_the_stack_has_every_service(services):
    assert set(services) >= {"redis", "postgres", *VITRIEVE_SERVICES}


def test_redis_persists_and_never_evicts_and_postgres_has_a_healthcheck(services):
    redis = _command(services["redis"])
    assert "--appendonly yes" in redis and "--maxmemory-policy noeviction" in redis
    assert any(v.endswith(":/data") for v in services["redis"]["volumes"])
    for name in ("redis", "postgres"):
        assert services[name]["healthcheck"]["test"], name
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])


def test_migrations_run_once_before_every_other_vitrieve_service(services):
    migrate = services["migrate"]
    assert _command(migrate) == "vitrieve db upgrade"
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in VITRIEVE_SERVICES[1:]:
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
        assert deps["postgres"]["condition"] == "service_healthy", name
        assert deps["redis"]["condition"] == "service_healthy", name


def test_photos_are_mounted_read_only_and_data_lives_in_named_volumes(services):
    compose = yaml.safe_load(COMPOSE.read_text())
    for name in VITRIEVE_SERVICES:
        mounts = [_mount(v) for v in services[name]["volumes"]]
        photos = [m for m in mounts if m[1] == "/photos"]
        assert photos and all(mode == "ro" for _, _, mode in photos), name
        data = [m for m in mounts if m[1] == "/data"]
        assert data and data[0][0] in compose["volumes"], name
        assert services[name]["environment"]["VITRIEVE_HOME"] == "/data", name


def test_the_gpu_worker_reserves_gpus_and_a_cpu_profile_exists_without(services):
    gpu, cpu = services["worker"], services["worker-cpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert gpu["build"]["args"]["VARIANT"] == "gpu"  # faiss-gpu image
    assert gpu["profiles"] == ["gpu"] and cpu["profiles"] == ["cpu"]
    assert "deploy" not in cpu and cpu["environment"]["VITRIEVE_DEVICE"] == "cpu"
    for worker in (gpu, cpu):
        assert _command(worker) == "vitrieve worker --queues scan,embed"


def test_one_index_writer_one_beat_and_the_ui_on_8501(services):
    assert _command(services["indexer"]) == "vitrieve worker --queues index"
    assert _command(services["beat"]) == "vitrieve beat"
    assert "8501:8501" in services["ui"]["ports"]
    assert "--port 8501" in _command(services["ui"])
    for name in VITRIEVE_SERVICES:
        env = services[name]["environment"]
        assert env["VITRIEVE_BROKER_URL"].startswith("redis://redis:"), name
        assert "@postgres:" in env["VITRIEVE_DATABASE_URL"], name
