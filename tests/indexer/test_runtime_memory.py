"""The runtime calibration holds one model copy at a time: torch's fp32 model is dropped before
an OpenVINO candidate is built (and loaded again, computing the same vectors, if torch wins),
bf16 is cast tensor by tensor, and an OpenVINO model's mapped weights file is paged out once
its weights are repacked. None of it may change a vector. Real torch, real OpenVINO, tiny ViT."""

from __future__ import annotations

import copy
import mmap
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.support import PHOTO_NAMES, TINY_VIT, real_photo
from vitrieve.indexer.model_source import locate_model, read_model_info
from vitrieve.indexer.preprocess import PreprocessSpec
from vitrieve.indexer.runtimes.abilities import detect
from vitrieve.indexer.runtimes.candidates import REFERENCE, Runtime
from vitrieve.indexer.runtimes.choice import choose
from vitrieve.indexer.runtimes.forwards import TorchForward, cast_copy, load_torch_vit
from vitrieve.indexer.runtimes.memory import page_out
from vitrieve.indexer.runtimes.select import Request, build, drop_torch_for, select

needs_openvino = pytest.mark.skipif(
    detect().openvino is not None, reason="OpenVINO missing (the dev extra installs it)"
)


@pytest.fixture(scope="module")
def spec() -> PreprocessSpec:
    return PreprocessSpec.from_model_dir(TINY_VIT)


@pytest.fixture(scope="module")
def pixels(spec) -> np.ndarray:
    return np.stack([spec.resize(real_photo(n)) for n in PHOTO_NAMES])


def request(tmp_path: Path, spec: PreprocessSpec, **kw) -> Request:
    return Request(
        model=load_torch_vit(TINY_VIT),
        model_dir=TINY_VIT,
        spec=spec,
        weights_hash=read_model_info(locate_model(str(TINY_VIT))).weights_hash,
        cache_dir=tmp_path,
        **kw,
    )


def resident_kib(path: Path) -> int:
    """Resident KiB of this process's mappings of `path` (/proc/self/smaps)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if "-" in head[0] and len(head) >= 5 and ":" not in head[0]:
            inside = len(head) == 6 and head[5] == str(path.resolve())
        elif inside and head[0] == "Rss:":
            total += int(head[1])
    return total


def test_page_out_drops_a_mapped_files_pages_and_keeps_its_bytes(tmp_path):
    path = tmp_path / "weights.bin"
    data = np.random.default_rng(0).integers(0, 256, 8 << 20, dtype=np.uint8).tobytes()
    path.write_bytes(data)
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        assert mapped[:] == data  # every page touched: resident
        assert resident_kib(path) >= 7 << 10
        assert page_out(path) == 1
        assert resident_kib(path) < 1 << 10
        assert mapped[:] == data  # read again from the file, unchanged


def test_a_bf16_copy_cast_tensor_by_tensor_computes_what_a_whole_copy_does(spec, pixels):
    model = load_torch_vit(TINY_VIT)
    cast = TorchForward(model, torch.bfloat16, spec)
    whole = copy.deepcopy(model).to(torch.bfloat16)
    assert next(model.parameters()).dtype == torch.float32  # the fp32 model is left as it was
    with torch.inference_mode():
        x = spec.normalize(torch.from_numpy(pixels), torch.bfloat16)
        expected = torch.nn.functional.normalize(whole(pixel_values=x).pooler_output.float())
    np.testing.assert_array_equal(cast(pixels), expected.numpy())
    assert cast_copy(model, torch.bfloat16) is not model


def test_before_build_runs_before_every_candidate_and_the_winners_rebuild(spec, pixels):
    reference = TorchForward(load_torch_vit(TINY_VIT), torch.float32, spec)
    built: list[str] = []
    other = Runtime("torch", "bf16")
    decision, _ = choose(
        reference,
        [
            (REFERENCE, lambda: built.append("build torch fp32") or reference),
            (other, lambda: built.append("build torch bf16") or reference),
        ],
        pixels,
        batch_sizes=(),
        before_build=lambda runtime: built.append(f"before {runtime.name}"),
    )
    assert built[:2] == ["before torch bf16", "build torch bf16"]
    assert built[2:] == [f"before {decision.runtime.name}", f"build {decision.runtime.name}"]


@needs_openvino
def test_openvino_never_runs_beside_torchs_fp32_model(tmp_path, spec, pixels):
    req = request(tmp_path, spec, engine="openvino", precision="fp32")
    chosen = select(req)
    assert chosen.runtime == Runtime("openvino", "fp32") and req.model is None
    weights = next((tmp_path / "openvino").glob("*-fp32")) / "model.bin"
    assert resident_kib(weights) < 64  # the repacked copy runs; the file's pages are out
    truth = TorchForward(load_torch_vit(TINY_VIT), torch.float32, spec)(pixels)
    assert np.min(np.sum(chosen.forward(pixels) * truth, axis=1)) >= 0.999


def test_torch_dropped_for_openvino_is_loaded_again_with_the_same_vectors(tmp_path, spec, pixels):
    req = request(tmp_path, spec)
    truth = build(req, REFERENCE)(pixels)
    drop_torch_for(req, Runtime("torch", "bf16"))
    assert req.model is not None  # a torch candidate needs it
    drop_torch_for(req, Runtime("openvino", "int8-fp32"))
    assert req.model is None
    np.testing.assert_array_equal(build(req, REFERENCE)(pixels), truth)
    assert req.model is not None
