"""The Docker stack, checked by parsing it (Docker cannot run here): docker-compose.yml (services,
start order, persistence, healthchecks, GPUs, mounts and their defaults), the Dockerfile (pinned
torch from the CPU index, the lock) and requirements.lock against pyproject.toml."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml  # a dev dependency: a missing install must fail this test, not skip it
from packaging.requirements import Requirement

from vitrieve.core.config import Settings
from vitrieve.worker.launch import plan

REPO = Path(__file__).parents[1]
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
LOCK = REPO / "requirements.lock"
VITRIEVE_SERVICES = ("migrate", "indexer", "worker", "worker-gpu1", "worker-cpu", "beat", "ui")
CLEANUP_SERVICES = ("indexer", "ui")
GPU_WORKERS = ("worker", "worker-gpu1")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable substitution: ${V}, ${V:-default}, ${V:?error} (and $$ for $)."""

    def one(m: re.Match) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        value = env.get(name, "")
        if op == ":?" and not value:
            raise KeyError(f"{name}: {arg}")
        return value or (arg if op == ":-" else "")

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, text).replace("$$", "$")


def mounts(service: dict, env: dict[str, str] | None = None) -> dict[str, tuple[str, str]]:
    """Container path -> (source, mode) after substitution; the mode is rw when none is given."""
    out = {}
    for volume in service["volumes"]:
        parts = interpolate(volume, env or {}).split(":")
        source, target, mode = [*parts, "rw"][:3]
        out[target] = (source, mode)
    return out


def _command(service: dict) -> str:
    cmd = service.get("command", "")
    return " ".join(cmd) if isinstance(cmd, list) else cmd


def header(path: Path) -> str:
    return "\n".join(line for line in path.read_text().splitlines() if line.startswith("#"))


# -- compose: services, order, persistence (as before) ------------------------------------------


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


def test_one_index_writer_one_beat_and_the_ui_on_8501(services):
    assert _command(services["indexer"]) == "vitrieve worker --queues index"
    assert _command(services["beat"]) == "vitrieve beat"
    assert "8501:8501" in services["ui"]["ports"]
    assert "--port 8501" in _command(services["ui"])
    for name in VITRIEVE_SERVICES:
        env = services[name]["environment"]
        assert env["VITRIEVE_BROKER_URL"].startswith("redis://redis:"), name
        assert "@postgres:" in env["VITRIEVE_DATABASE_URL"], name


# -- the UI's password --------------------------------------------------------------------------


def test_the_published_ui_takes_its_password_from_the_environment_and_cannot_start_without(
    services,
):
    given = services["ui"]["environment"]["VITRIEVE_UI_PASSWORD"]
    with pytest.raises(KeyError, match="VITRIEVE_UI_PASSWORD"):
        interpolate(given, {})
    assert interpolate(given, {"VITRIEVE_UI_PASSWORD": "s3cret pass"}) == "s3cret pass"
    assert "VITRIEVE_UI_PASSWORD=" in header(COMPOSE)


# -- photos, clean-up and the quarantine --------------------------------------------------------


def test_photos_are_read_only_by_default_in_every_service(services, compose):
    for name in VITRIEVE_SERVICES:
        found = mounts(services[name])
        assert found["/photos"] == ("./photos", "ro"), name
        assert found["/data"][0] in compose["volumes"], name
        assert services[name]["environment"]["VITRIEVE_HOME"] == "/data", name


def test_clean_up_makes_photos_writable_only_where_it_runs_with_a_quarantine_outside(
    services, compose
):
    env = {"PHOTOS": "/srv/photos", "PHOTOS_ACCESS": "rw"}
    for name in VITRIEVE_SERVICES:
        found = mounts(services[name], env)
        if name in CLEANUP_SERVICES:
            assert found["/photos"] == ("/srv/photos", "rw"), name
            quarantine, mode = found["/quarantine"]
            assert mode == "rw" and quarantine in compose["volumes"], name
        else:  # workers and beat never need to move a photo
            assert found["/photos"] == ("/srv/photos", "ro"), name
            assert "/quarantine" not in found, name
    bound = mounts(services["ui"], env | {"QUARANTINE": "/srv/quarantine"})
    assert bound["/quarantine"] == ("/srv/quarantine", "rw")
    # The quarantine folder must be outside every root and the data directory (dups refuses).
    assert not Path("/quarantine").is_relative_to("/photos")
    assert not Path("/quarantine").is_relative_to("/data")
    docs = (REPO / "docs" / "DOCKER.md").read_text()
    assert "PHOTOS_ACCESS=rw" in docs and "vitrieve dups quarantine /quarantine" in docs


def test_the_image_makes_the_quarantine_folder_writable_by_its_user():
    text = DOCKERFILE.read_text()
    assert re.search(r"mkdir -p [^\n]*/quarantine", text)
    assert re.search(r"chown vitrieve:vitrieve [^\n]*/quarantine", text)


# -- offline hosts and the first run ------------------------------------------------------------


def test_a_local_weights_folder_is_mounted_read_only_for_offline_hosts(services, compose):
    for name in VITRIEVE_SERVICES:
        assert mounts(services[name])["/weights"] == ("weights", "ro"), name
        assert mounts(services[name], {"WEIGHTS": "/srv/vit"})["/weights"] == ("/srv/vit", "ro")
        env = services[name]["environment"]
        assert interpolate(env["VITRIEVE_MODEL"], {"VITRIEVE_MODEL": "/weights"}) == "/weights"
        assert interpolate(env["VITRIEVE_OFFLINE"], {"VITRIEVE_OFFLINE": "true"}) == "true"
    assert "weights" in compose["volumes"]
    assert "VITRIEVE_MODEL=/weights" in header(COMPOSE)


def test_the_compose_header_gives_the_first_run_in_order():
    text = header(COMPOSE)
    steps = ["VITRIEVE_UI_PASSWORD=", "docker compose build", "vitrieve model fetch"]
    steps += ["docker compose up -d", "vitrieve roots add /photos"]
    at = [text.index(step) for step in steps]
    assert at == sorted(at), steps


# -- GPUs ---------------------------------------------------------------------------------------


def test_each_gpu_worker_reserves_exactly_one_gpu_by_id_and_none_reserves_all(services):
    ids = []
    for name, service in services.items():
        devices = service.get("deploy", {}).get("resources", {}).get("reservations", {})
        for device in devices.get("devices", []):
            assert "count" not in device, f"{name} reserves GPUs by count: every replica gets all"
            assert len(device["device_ids"]) == 1, name
            assert device["driver"] == "nvidia" and "gpu" in device["capabilities"], name
            ids += device["device_ids"]
    assert len(ids) == len(set(ids)) == len(GPU_WORKERS)
    for name in GPU_WORKERS:
        assert services[name]["image"] == "vitrieve:gpu"
        assert services[name]["build"]["args"]["VARIANT"] == "gpu", name  # faiss-gpu image
        assert _command(services[name]) == "vitrieve worker --queues scan,embed"
    cpu = services["worker-cpu"]
    assert services["worker"]["profiles"] == ["gpu"] and cpu["profiles"] == ["cpu"]
    assert "deploy" not in cpu and cpu["environment"]["VITRIEVE_DEVICE"] == "cpu"
    assert "--scale worker=2" in header(COMPOSE)  # named as what not to do


def test_every_image_tag_is_built_with_its_variant(services):
    for name in VITRIEVE_SERVICES:
        variant = services[name]["image"].removeprefix("vitrieve:")
        assert services[name]["build"]["args"]["VARIANT"] == variant, name


# -- healthchecks -------------------------------------------------------------------------------


def _health_argv(service: dict) -> list[str]:
    test = service["healthcheck"]["test"]
    assert test[0] == "CMD"
    return test[1:]


def test_every_worker_pings_its_own_celery_node_and_beat_checks_its_schedule(services):
    cpu = Settings(device="cpu")
    nodes = {
        "indexer": plan(cpu, ["index"])[0].name,
        "worker-cpu": plan(cpu, ["scan", "embed"], gpus=[])[0].name,
        "worker": plan(cpu, ["scan", "embed"], gpus=["0"])[0].name,  # its one GPU is gpu0
        "worker-gpu1": plan(cpu, ["scan", "embed"], gpus=["1"])[0].name,
    }
    for name, node in nodes.items():
        argv = _health_argv(services[name])
        assert argv[:5] == ["python", "-m", "vitrieve.worker.health", "worker", node], name
        assert "--strikes" in argv, name
    beat = _health_argv(services["beat"])
    assert beat[:4] == ["python", "-m", "vitrieve.worker.health", "beat"] and "--strikes" in beat
    for name in VITRIEVE_SERVICES:
        service = services[name]
        assert service.get("init") is True, name  # the check kills the child of tini
        if name != "migrate":
            assert service["restart"] == "unless-stopped", name
            assert service["healthcheck"]["test"], name


# -- the Dockerfile and the lock ----------------------------------------------------------------


def _torch_versions() -> dict[str, str]:
    setup = (REPO / "scripts" / "setup.sh").read_text()
    lock_sh = (REPO / "scripts" / "lock.sh").read_text()
    return {
        "Dockerfile": re.search(r"^ARG TORCH_VERSION=(\S+)$", DOCKERFILE.read_text(), re.M)[1],
        "setup.sh": re.search(r"torch_version=\$\{VITRIEVE_TORCH_VERSION:-([^}]+)\}", setup)[1],
        "lock.sh": re.search(r"^torch_version=(\S+)", lock_sh, re.M)[1],
    }


def test_torch_is_pinned_to_one_version_everywhere_within_the_declared_floor():
    versions = _torch_versions()
    assert len(set(versions.values())) == 1, versions
    (torch,) = [Requirement(d) for d in _pyproject()["dependencies"] if d.startswith("torch")]
    assert torch.specifier.contains(versions["Dockerfile"])


def test_the_cpu_image_takes_torch_from_pytorchs_cpu_index_and_the_rest_from_the_lock():
    text = DOCKERFILE.read_text()
    assert "ARG TORCH_CPU_INDEX_URL=https://download.pytorch.org/whl/cpu" in text
    cpu_torch = r'cpu\) pip install --index-url "\$TORCH_CPU_INDEX_URL" "torch==\$TORCH_VERSION"'
    assert re.search(cpu_torch, text)
    for line in text.splitlines():  # no unpinned torch anywhere
        assert not re.search(r"pip install[^\n]*\btorch\b(?!==)", line), line
    assert re.search(r"^COPY [^\n]*requirements\.lock", text, re.M)
    assert "pip install -c requirements.lock" in text
    assert "pip install --no-deps ." in text


def test_everything_the_dockerfile_copies_reaches_the_build_context():
    ignored = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("COPY "):
            for source in shlex.split(line)[1:-1]:
                assert (REPO / source).exists(), source
                assert source not in ignored, f"{source} is in .dockerignore"


def test_the_images_runtime_list_is_pyprojects_and_all_of_it_is_locked(tmp_path):
    (script,) = re.findall(r'python -c "(.*?)" > runtime\.txt', _joined(DOCKERFILE), re.S)
    (tmp_path / "pyproject.toml").write_bytes((REPO / "pyproject.toml").read_bytes())
    listed = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    extras = _pyproject()["optional-dependencies"]
    assert [x for x in listed if x] == (
        _pyproject()["dependencies"] + extras["postgres"] + extras["modelscope"]
    )
    pins = _lock_pins()
    for line in listed:
        if line and Requirement(line).name != "torch":
            assert Requirement(line).name in pins, line


def _joined(path: Path) -> str:
    """The Dockerfile with its line continuations joined, as Docker reads it."""
    return path.read_text().replace("\\\n", "")


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _lock_pins() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith((" ", "#")):
            name, _, version = line.partition("==")
            assert version and re.fullmatch(r"[\w.+!-]+", version), f"not a pin: {line}"
            pins[Requirement(name).name.lower().replace("_", "-")] = version
    return pins


def test_every_declared_dependency_is_pinned_in_the_lock_within_its_range():
    project = _pyproject()
    extras = project["optional-dependencies"]
    declared = project["dependencies"] + extras["postgres"] + extras["modelscope"] + extras["dev"]
    pins = _lock_pins()
    for text in declared:
        req = Requirement(text)
        name = req.name.lower().replace("_", "-")
        if name in ("vitrieve", "torch"):  # itself; torch is installed first, CPU or CUDA
            continue
        assert name in pins, f"{text} is not in requirements.lock: run scripts/lock.sh"
        assert req.specifier.contains(pins[name], prereleases=True), f"{text} vs {pins[name]}"
    assert "torch" not in pins and not any(p.startswith("nvidia-") for p in pins)
    assert "bash scripts/lock.sh" in (REPO / "docs" / "CONTRIBUTING.md").read_text()
    assert "pip-compile" in header(LOCK) and "--extra dev" in header(LOCK)


def test_setup_sh_installs_the_lock_then_the_project_without_dependencies():
    setup = (REPO / "scripts" / "setup.sh").read_text()
    lock_at = setup.index('install -r "$lock"')
    assert setup.index("install --no-deps -e .") > lock_at
    assert "lock=requirements.lock" in setup
