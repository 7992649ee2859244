"""The CPU runtime for this process: forced by the settings, remembered from an earlier
calibration, or calibrated now (once per weights, CPU, thread count and package versions).
Calibrating and building OpenVINO models happen under the runtime lock (decisions.py), so two
processes starting at once calibrate once.

Memory: the request owns the fp32 torch model (the caller hands it over and keeps no reference).
The reference vectors and the torch candidates come first; before any OpenVINO model is built the
torch model is dropped, and loaded again only if a torch runtime wins. So the calibration never
holds torch's fp32 weights and an OpenVINO copy at once, and an OpenVINO winner runs without
torch's copy."""

from __future__ import annotations

import logging
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.preprocess import PreprocessSpec
from vitrieve.indexer.runtimes import abilities
from vitrieve.indexer.runtimes.candidates import Forward, Runtime, cpu_candidates
from vitrieve.indexer.runtimes.choice import BATCH_SIZES, Decision, choose
from vitrieve.indexer.runtimes.decisions import read_decisions, runtime_lock, write_decision
from vitrieve.indexer.runtimes.forwards import (
    OpenVinoForward,
    TorchForward,
    load_torch_vit,
    torch_forward,
)
from vitrieve.indexer.runtimes.memory import release_memory
from vitrieve.indexer.runtimes.openvino_ir import ensure_ir

log = logging.getLogger(__name__)


#: Variables that cap the instruction set torch, oneDNN, MKL and OpenVINO use: a cap changes
#: which runtime is fastest, so it is part of the decision's key.
ISA_CAPS = (
    "ONEDNN_MAX_CPU_ISA",
    "OV_CPU_MAX_ISA",
    "ATEN_CPU_CAPABILITY",
    "MKL_ENABLE_INSTRUCTIONS",
)


@dataclass
class Request:
    """What the settings ask for, and what the chooser needs to build candidates."""

    model: torch.nn.Module | None  # the fp32 ViTModel on the CPU; None: loaded when needed
    model_dir: Path  # its weights, for OpenVINO's converter (a child process)
    spec: PreprocessSpec
    weights_hash: str
    engine: str = "auto"  # VITRIEVE_RUNTIME
    precision: str = "auto"  # VITRIEVE_PRECISION
    batch_size: int = 0  # VITRIEVE_BATCH_SIZE; 0 lets the calibration pick
    cache_dir: Path | None = None
    calibration_pixels: Callable[[int], np.ndarray] | None = None


@dataclass
class Selected:
    runtime: Runtime
    batch_size: int
    forward: Forward
    decision: Decision | None  # None when the settings forced a single runtime


def cpu_flags() -> str:
    wanted = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8")
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                return ",".join(f for f in wanted if f in have)
    except OSError:
        pass
    return platform.machine()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def decision_key(req: Request) -> str:
    """Everything that changes which runtime is fastest or faithful."""
    return "|".join(
        [
            req.weights_hash,
            cpu_model(),
            cpu_flags(),
            f"threads={torch.get_num_threads()}",
            f"torch={torch.__version__}",
            f"openvino={abilities.version('openvino')}",
            f"nncf={abilities.version('nncf')}",
            "isa=" + ",".join(os.environ.get(v, "") for v in ISA_CAPS),
            f"ask={req.engine}/{req.precision}/{req.batch_size}",
        ]
    )


def torch_model(req: Request) -> torch.nn.Module:
    """The fp32 torch model, loaded again if an OpenVINO candidate had it dropped."""
    if req.model is None:
        req.model = load_torch_vit(req.model_dir)
    return req.model


def drop_torch_for(req: Request, runtime: Runtime) -> None:
    """Before an OpenVINO model is built: frees the torch model (unless the caller kept it)."""
    if runtime.engine == "openvino" and req.model is not None:
        req.model = None
        release_memory()


def build(req: Request, runtime: Runtime) -> Forward:
    """A ready forward for `runtime` (OpenVINO models are converted on first use)."""
    if runtime.engine == "torch":
        return torch_forward(runtime, torch_model(req), req.spec)
    if req.cache_dir is None:
        raise RuntimeError("OpenVINO needs a cache folder for its converted model")
    xml = ensure_ir(
        req.cache_dir,
        req.weights_hash,
        runtime.int8_weights,
        req.model_dir,
        (req.spec.height, req.spec.width),
    )
    return OpenVinoForward(xml, runtime.compute, torch.get_num_threads(), req.spec)


def select(req: Request) -> Selected:
    can = abilities.detect()
    if req.cache_dir is None and can.openvino is None:
        can = replace(can, openvino="no cache folder to keep its converted model in")
    offered = cpu_candidates(req.engine, req.precision, can)
    if not offered:
        raise VitrieveError(_nothing_offered(req, can))
    fallback = req.batch_size or 16
    with runtime_lock(req.cache_dir):  # also held while an OpenVINO model is built
        if len(offered) == 1:  # forced: no measuring
            drop_torch_for(req, offered[0])
            return Selected(offered[0], fallback, build(req, offered[0]), None)
        key = decision_key(req)
        cached = read_decisions(req.cache_dir).get(key)
        if cached is not None:
            try:
                decision = Decision.from_dict(cached)
                drop_torch_for(req, decision.runtime)
                forward = build(req, decision.runtime)
                return Selected(decision.runtime, decision.batch_size, forward, decision)
            except Exception as exc:  # a stale or unbuildable entry: measure again
                log.warning(
                    "the remembered runtime choice cannot be used (%s): measuring again", exc
                )
        decision, forward = _calibrate(req, offered, can)
        if req.cache_dir is not None:
            write_decision(req.cache_dir, key, decision)
    return Selected(decision.runtime, decision.batch_size, forward, decision)


def _calibrate(req: Request, offered: list[Runtime], can: Any) -> tuple[Decision, Forward]:
    if can.openvino is not None and req.engine == "auto":
        log.warning("running on torch: %s", can.openvino)
    log.warning(
        "measuring which runtime is fastest on this CPU (once for this model): %s",
        ", ".join(r.name for r in offered),
    )
    sizes = BATCH_SIZES if not req.batch_size else ()
    pixels = req.calibration_pixels(max(BATCH_SIZES)) if req.calibration_pixels else None
    if pixels is None:
        raise ValueError("no calibration images")
    offers = [(rt, _builder(req, rt)) for rt in offered]

    def reference(batch: np.ndarray) -> np.ndarray:  # holds no model: it may be dropped
        return TorchForward(torch_model(req), torch.float32, req.spec)(batch)

    decision, forward = choose(
        reference,
        offers,
        pixels,
        batch_sizes=sizes,
        before_build=lambda runtime: drop_torch_for(req, runtime),
    )
    if req.batch_size:
        decision.batch_size = req.batch_size
    decision.note = can.openvino
    log.warning(
        "runtime: %s, batch %d (%s x torch fp32; measured in %.0f s)",
        decision.runtime.name,
        decision.batch_size,
        decision.speedup,
        decision.seconds,
    )
    return decision, forward


def _builder(req: Request, runtime: Runtime) -> Callable[[], Forward]:
    return lambda: build(req, runtime)


def _nothing_offered(req: Request, can: Any) -> str:
    why = f": {can.openvino}" if req.engine == "openvino" and can.openvino else ""
    return (
        f"no runtime fits VITRIEVE_RUNTIME={req.engine} VITRIEVE_PRECISION={req.precision} "
        f"on this CPU{why}"
    )
