"""What `vitrieve worker` starts for a machine, and the reliability settings of the Celery app."""

from __future__ import annotations

import pytest

from vitrieve.core.config import Settings
from vitrieve.core.errors import VitrieveError
from vitrieve.worker.app import celery_config
from vitrieve.worker.launch import plan


def test_a_cpu_machine_gets_one_index_writer_and_a_prefork_pool(tmp_path):
    specs = plan(Settings(home=tmp_path, device="cpu"), ["scan", "embed", "index"], concurrency=3)

    assert [(s.name, s.queues, s.pool, s.concurrency) for s in specs] == [
        ("index", ["index"], "solo", 1),
        ("cpu", ["scan", "embed"], "prefork", 3),
    ]
    assert specs[1].env["VITRIEVE_WORKER_CONCURRENCY"] == "3"  # children share the cores out


def test_each_gpu_gets_its_own_solo_process_because_cuda_and_fork_do_not_mix(tmp_path):
    specs = plan(Settings(home=tmp_path), ["embed"], gpus=["2", "5"])

    assert [(s.name, s.pool, s.concurrency, s.env) for s in specs] == [
        ("gpu0", "solo", 1, {"CUDA_VISIBLE_DEVICES": "2"}),
        ("gpu1", "solo", 1, {"CUDA_VISIBLE_DEVICES": "5"}),
    ]
    argv = specs[0].argv()
    assert argv[argv.index("--queues") + 1] == "embed"
    assert argv[argv.index("--pool") + 1] == "solo"


def test_an_unknown_queue_is_a_clear_error(tmp_path):
    with pytest.raises(VitrieveError, match="unknown queue"):
        plan(Settings(home=tmp_path, device="cpu"), ["scan", "embedd"])


def test_tasks_survive_lost_workers_and_are_redelivered_after_the_visibility_timeout(tmp_path):
    conf = celery_config(
        Settings(home=tmp_path, broker_url="redis://127.0.0.1:1/0", visibility_timeout=42)
    )

    assert conf["task_acks_late"] and conf["task_reject_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1
    assert conf["broker_transport_options"]["visibility_timeout"] == 42
    assert conf["broker_transport_options"]["unacked_restore_interval"] <= 42
    routes = {name: route["queue"] for name, route in conf["task_routes"].items()}
    assert routes["vitrieve.scan"] == "scan" and routes["vitrieve.embed"] == "embed"
    assert {routes[t] for t in ("vitrieve.index_add", "vitrieve.index_update")} == {"index"}
