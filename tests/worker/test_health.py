"""The container health checks (vitrieve.worker.health): a wedged beat or worker is reported,
and after enough failures in a row the check kills the container's main process so that
Docker's restart policy replaces it. A real "init" process stands in for the container's PID 1."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from vitrieve.worker import health


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Path:
    for name in [k for k in os.environ if k.startswith("VITRIEVE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("VITRIEVE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("VITRIEVE_RESCAN_INTERVAL", "300")
    (tmp_path / "home" / "cache").mkdir(parents=True)
    return tmp_path / "home"


def write_schedule(home: Path, age_s: float) -> None:
    schedule = home / "cache" / "celerybeat-schedule.db"  # dbm may add a suffix
    schedule.write_bytes(b"x")
    then = time.time() - age_s
    os.utime(schedule, (then, then))


@pytest.fixture
def container():
    """A process standing in for PID 1 (tini) with one child, the container's main process."""
    init = subprocess.Popen(["sh", "-c", "sleep 300; exit 0"])
    deadline = time.monotonic() + 10
    while (child := health.main_process(init.pid)) is None:
        assert time.monotonic() < deadline, "the child did not start"
        time.sleep(0.05)
    yield init, child
    if init.poll() is None:
        init.kill()
        init.wait()


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_beat_is_healthy_while_it_writes_its_schedule_and_not_once_it_stops(home, tmp_path):
    state = tmp_path / "strikes"
    assert health.main(["beat", "--state", str(state)]) == 1  # nothing written yet
    write_schedule(home, age_s=30)
    assert health.main(["beat", "--state", str(state)]) == 0
    assert state.read_text() == "0"  # a success clears the count
    write_schedule(home, age_s=health.beat_max_age(300) + 5)
    assert health.main(["beat", "--state", str(state)]) == 1
    assert state.read_text() == "1"


def test_a_stale_beat_is_killed_only_after_its_strikes_so_the_container_restarts(
    home, tmp_path, container
):
    init, child = container
    write_schedule(home, age_s=3600)
    argv = ["beat", "--strikes", "3", "--state", str(tmp_path / "s"), "--init-pid", str(init.pid)]
    for _ in range(2):
        assert health.main(argv) == 1
        assert alive(child)  # one or two misses are tolerated
    assert health.main(argv) == 1
    assert init.wait(timeout=30) == 0  # its child was killed: the "container" went on and ended
    assert not alive(child)


def test_a_healthy_check_never_kills(home, tmp_path, container):
    init, child = container
    write_schedule(home, age_s=1)
    argv = ["beat", "--strikes", "1", "--state", str(tmp_path / "s"), "--init-pid", str(init.pid)]
    for _ in range(3):
        assert health.main(argv) == 0
    assert alive(child) and init.poll() is None


def test_a_worker_node_that_does_not_answer_is_unhealthy(redis_url, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("VITRIEVE_BROKER_URL", redis_url)
    code = health.main(["worker", "cpu", "--timeout", "1", "--state", str(tmp_path / "s")])
    assert code == 1
    assert "no ping reply from cpu@" in capsys.readouterr().err
