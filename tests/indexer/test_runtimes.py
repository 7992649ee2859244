"""The CPU runtime is a measured choice: the fastest runtime whose vectors stay within cosine
0.999 of torch fp32 on this machine, remembered, rebuilt when its files are damaged, and never
an unfaithful one. Runs the real torch and OpenVINO (the dev extra installs it) on the tiny ViT."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.support import PHOTO_NAMES, TINY_VIT, real_photo
from vitrieve.indexer.embedder import Embedder
from vitrieve.indexer.model_source import locate_model
from vitrieve.indexer.runtimes.abilities import detect
from vitrieve.indexer.runtimes.candidates import REFERENCE, Runtime
from vitrieve.indexer.runtimes.choice import MIN_COSINE, choose
from vitrieve.indexer.runtimes.decisions import DECISIONS
from vitrieve.indexer.runtimes.forwards import TorchForward
from vitrieve.indexer.runtimes.openvino_ir import ir_folder, is_intact

REPO = Path(__file__).resolve().parents[2]
needs_openvino = pytest.mark.skipif(
    detect().openvino is not None, reason="OpenVINO missing (the dev extra installs it)"
)


@pytest.fixture(scope="module")
def location():
    return locate_model(str(TINY_VIT))


@pytest.fixture(scope="module")
def photos_pixels(location) -> np.ndarray:
    spec = Embedder(location, runtime="torch", precision="fp32").spec
    return np.stack([spec.resize(real_photo(n)) for n in PHOTO_NAMES])


@pytest.fixture(scope="module")
def fp32(location) -> Embedder:
    return Embedder(location, runtime="torch", precision="fp32")


class Canned:
    """A stand-in runtime that answers instantly with fixed vectors: far faster than any real
    one, so only the fidelity floor can keep it from winning."""

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = vectors

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        return self.vectors[: len(pixels)]


def test_a_fast_runtime_below_the_floor_is_never_chosen(fp32, photos_pixels):
    reference = TorchForward(fp32._model, torch.float32, fp32.spec)
    truth = reference(photos_pixels)
    rng = np.random.default_rng(0)
    off = truth + rng.normal(0, 0.08, truth.shape).astype(np.float32)
    off /= np.linalg.norm(off, axis=1, keepdims=True)
    perturbed = Runtime("openvino", "int8-bf16")
    decision, _ = choose(
        reference,
        [(REFERENCE, lambda: reference), (perturbed, lambda: Canned(off))],
        photos_pixels,
        batch_sizes=(),
    )
    entry = {m.runtime: m for m in decision.measured}[perturbed.name]
    assert entry.min_cos is not None and entry.min_cos < MIN_COSINE and not entry.kept
    assert entry.img_s > {m.runtime: m for m in decision.measured}[REFERENCE.name].img_s
    assert decision.runtime == REFERENCE


def test_the_fastest_faithful_runtime_wins(fp32, photos_pixels):
    reference = TorchForward(fp32._model, torch.float32, fp32.spec)
    faithful = Runtime("openvino", "fp32")
    decision, forward = choose(
        reference,
        [(REFERENCE, lambda: reference), (faithful, lambda: Canned(reference(photos_pixels)))],
        photos_pixels,
        batch_sizes=(),
    )
    assert decision.runtime == faithful and isinstance(forward, Canned)
    assert decision.speedup is not None and decision.speedup > 1


def test_a_runtime_that_fails_to_build_is_skipped_with_its_reason(fp32, photos_pixels):
    reference = TorchForward(fp32._model, torch.float32, fp32.spec)

    def broken():
        raise RuntimeError("no bf16 kernels on this CPU")

    decision, _ = choose(
        reference,
        [(REFERENCE, lambda: reference), (Runtime("torch", "bf16"), broken)],
        photos_pixels,
        batch_sizes=(),
    )
    (failed,) = [m for m in decision.measured if m.error]
    assert "no bf16 kernels" in failed.error and decision.runtime == REFERENCE


def test_the_choice_is_measured_once_then_remembered(location, tmp_path):
    first = Embedder(location, cache_dir=tmp_path)
    cache = json.loads((tmp_path / DECISIONS).read_text())
    (key, entry) = next(iter(cache.items()))
    assert len(cache) == 1 and entry["runtime"] == first.runtime.name
    names = {m["runtime"] for m in entry["measured"]}
    assert {"torch fp32", "torch bf16"} <= names
    if detect().openvino is None:
        assert {"openvino fp32", "openvino int8-fp32"} <= names
    assert all(m["min_cos"] is None or m["min_cos"] > 0.99 for m in entry["measured"])
    assert first.batch_size == entry["batch_size"] in (8, 32)
    # A later start trusts the remembered decision instead of measuring again.
    other = "torch bf16" if first.runtime.name != "torch bf16" else "torch fp32"
    cache[key]["runtime"] = other
    cache[key]["batch_size"] = 32
    (tmp_path / DECISIONS).write_text(json.dumps(cache))
    again = Embedder(location, cache_dir=tmp_path)
    assert (again.runtime.name, again.batch_size) == (other, 32)


def test_both_settings_force_a_runtime_without_measuring(location, tmp_path):
    emb = Embedder(location, runtime="torch", precision="bf16", cache_dir=tmp_path)
    assert emb.runtime == Runtime("torch", "bf16") and emb.decision is None
    assert not (tmp_path / DECISIONS).exists()


@needs_openvino
@pytest.mark.parametrize("precision", ["fp32", "int8-fp32", "bf16", "int8-bf16"])
def test_openvino_vectors_match_torch_on_real_photos(
    location, fp32, photos_pixels, tmp_path, precision
):
    if precision.endswith("bf16") and not detect().openvino_bf16:
        pytest.skip("this CPU does not compute bf16 in OpenVINO")
    ov = Embedder(location, runtime="openvino", precision=precision, cache_dir=tmp_path)
    assert ov.runtime == Runtime("openvino", precision) and ov._model is None
    cos = np.sum(ov.embed_pixels(photos_pixels) * fp32.embed_pixels(photos_pixels), axis=1)
    assert cos.min() >= MIN_COSINE, cos


@needs_openvino
def test_a_damaged_openvino_model_is_rebuilt(location, fp32, photos_pixels, tmp_path):
    Embedder(location, runtime="openvino", precision="fp32", cache_dir=tmp_path)
    folder = ir_folder(tmp_path, fp32.info.weights_hash, int8_weights=False)
    assert is_intact(folder)
    weights = folder / "model.bin"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte, same size
    weights.write_bytes(bytes(data))
    assert not is_intact(folder)
    again = Embedder(location, runtime="openvino", precision="fp32", cache_dir=tmp_path)
    assert is_intact(folder)
    cos = np.sum(again.embed_pixels(photos_pixels) * fp32.embed_pixels(photos_pixels), axis=1)
    assert cos.min() >= MIN_COSINE


SCRIPT = textwrap.dedent(
    """
    import logging, sys
    from pathlib import Path
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if sys.argv[2] == "no-openvino":
        sys.modules["openvino"] = None  # as if the extra were not installed
    from vitrieve.indexer.embedder import Embedder
    from vitrieve.indexer.model_source import locate_model
    e = Embedder(locate_model(sys.argv[3]), cache_dir=Path(sys.argv[1]))
    print(e.runtime.name, e.batch_size, e.decision.note if e.decision else "")
    """
)


def start(cache: Path, mode: str = "normal") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(cache), mode, str(TINY_VIT)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_without_openvino_it_runs_on_torch_and_says_why(tmp_path):
    proc = start(tmp_path, "no-openvino")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert out.startswith("torch ") and "not installed" in out
    assert "running on torch: OpenVINO is not installed" in err


@pytest.mark.parametrize("trial", range(3))
def test_two_processes_starting_at_once_measure_once(tmp_path, trial):
    procs = [start(tmp_path), start(tmp_path)]
    results = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e for _, e in results]
    assert len({" ".join(out.split()[:3]) for out, _ in results}) == 1  # same runtime, batch
    measured = [err.count("measuring which runtime is fastest") for _, err in results]
    assert sorted(measured) == [0, 1]
    assert len(json.loads((tmp_path / DECISIONS).read_text())) == 1


def test_a_calibration_killed_midway_is_completed_by_the_next_run(tmp_path):
    proc = start(tmp_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (tmp_path / "runtime.lock").exists():
        time.sleep(0.05)
    time.sleep(1.0)  # well inside the measuring (it takes several seconds)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert not (tmp_path / DECISIONS).exists()  # nothing half-written was published
    again = start(tmp_path)
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    entry = next(iter(json.loads((tmp_path / DECISIONS).read_text()).values()))
    assert entry["runtime"] == " ".join(out.split()[:2])
    leftovers = list(tmp_path.rglob(".build-*")) + list(tmp_path.glob(f".{DECISIONS}.*"))
    assert leftovers == []


def test_the_library_runs_the_runtime_its_settings_name(tmp_path):
    from vitrieve.core.config import Settings
    from vitrieve.indexer.library import Library

    settings = Settings(
        home=tmp_path / "home", model=str(TINY_VIT), runtime="torch", precision="bf16"
    )
    with Library(settings) as lib:
        assert lib.embedder.runtime == Runtime("torch", "bf16")
    assert not (settings.cache_dir / DECISIONS).exists()  # forced: nothing measured
