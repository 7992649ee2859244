"""The model converted for OpenVINO (an IR: model.xml + model.bin), built once per weights and
kept under `VITRIEVE_HOME/cache/openvino`.

Converting a ViT-B/16 takes seconds to a minute on two cores, so it is paid once and reused; a
damaged or half-written IR must never be loaded, so each one is built in a temporary folder,
recorded with the size and xxh3 hash of every file, fsynced and renamed into place in one step.
Opening checks the record against the files and rebuilds on any doubt. The name carries the
weights hash and OpenVINO's version, so new weights or a new OpenVINO never read an old IR.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import xxhash

from vitrieve.indexer.runtimes.abilities import version

log = logging.getLogger(__name__)

FILES = ("model.xml", "model.bin")
RECORD = "ir.json"


def ir_folder(cache_dir: Path, weights_hash: str, int8_weights: bool) -> Path:
    variant = "int8w" if int8_weights else "fp32"
    return cache_dir / "openvino" / f"{weights_hash[:16]}-ov{version('openvino')}-{variant}"


def _hash(path: Path) -> str:
    h = xxhash.xxh3_128()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def is_intact(folder: Path) -> bool:
    """The IR is there, complete, and its files are the ones recorded when it was built."""
    try:
        record = json.loads((folder / RECORD).read_text())
        return all(
            (folder / name).stat().st_size == record["files"][name]["size"]
            and _hash(folder / name) == record["files"][name]["xxh3"]
            for name in FILES
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(tmp: Path, folder: Path, info: dict[str, Any]) -> None:
    record = {
        "files": {n: {"size": (tmp / n).stat().st_size, "xxh3": _hash(tmp / n)} for n in FILES},
        **info,
    }
    (tmp / RECORD).write_text(json.dumps(record, indent=1))
    for name in (*FILES, RECORD):
        _fsync(tmp / name)
    if folder.exists():  # damaged (checked by the caller, under the runtime lock): replace it
        shutil.rmtree(folder)
    os.rename(tmp, folder)
    _fsync(folder.parent)


def ensure_ir(
    cache_dir: Path,
    weights_hash: str,
    int8_weights: bool,
    torch_model: Callable[[], Any],
    input_size: tuple[int, int],
) -> Path:
    """The intact IR's model.xml, built first when missing or damaged. `torch_model` gives the
    fp32 ViTModel (loaded only if a conversion is needed). The caller holds the runtime lock."""
    folder = ir_folder(cache_dir, weights_hash, int8_weights)
    if is_intact(folder):
        return folder / "model.xml"
    for stale in folder.parent.glob(".build-*"):  # a builder killed midway (we hold the lock)
        shutil.rmtree(stale, ignore_errors=True)
    if folder.exists():
        log.warning("the OpenVINO model in %s is damaged or incomplete: rebuilding it", folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=folder.parent))
    try:
        started = time.perf_counter()
        model = (
            _int8_from_fp32(cache_dir, weights_hash, torch_model, input_size)
            if int8_weights
            else _convert(torch_model(), input_size)
        )
        import openvino as ov

        # fp16 compression would change the vectors; the int8 IR is already compact
        ov.save_model(model, tmp / "model.xml", compress_to_fp16=False)
        seconds = time.perf_counter() - started
        _publish(
            tmp,
            folder,
            {
                "weights_hash": weights_hash,
                "openvino": version("openvino"),
                "int8_weights": int8_weights,
                "build_s": round(seconds, 1),
            },
        )
        log.warning(
            "OpenVINO model ready in %.0f s (%s), kept in %s",
            seconds,
            "int8 weights" if int8_weights else "fp32",
            folder,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder / "model.xml"


def _convert(model: Any, input_size: tuple[int, int]) -> Any:
    """The ViT's pooler output as an OpenVINO model taking any batch of normalised pixels."""
    import openvino as ov
    import torch

    log.warning(
        "converting the model for OpenVINO (once for these weights; up to a minute on two cores)"
    )

    class Pooled(torch.nn.Module):
        def __init__(self, vit: torch.nn.Module) -> None:
            super().__init__()
            self.vit = vit

        def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
            return self.vit(pixel_values=pixel_values).pooler_output

    h, w = input_size
    with torch.inference_mode():
        return ov.convert_model(
            Pooled(model.float().eval()),
            example_input=torch.zeros(1, 3, h, w),
            input=[ov.PartialShape([-1, 3, h, w])],
        )


def _int8_from_fp32(
    cache_dir: Path,
    weights_hash: str,
    torch_model: Callable[[], Any],
    input_size: tuple[int, int],
) -> Any:
    """int8 weights (NNCF's data-free weight compression) made from the fp32 IR, so the model
    is converted from torch once for both variants."""
    import nncf
    import openvino as ov

    fp32 = ensure_ir(cache_dir, weights_hash, False, torch_model, input_size)
    log.warning("compressing the OpenVINO model's weights to int8 (once for these weights)")
    model = ov.Core().read_model(fp32)
    # NNCF prints a statistics table and progress bars to stdout, which would corrupt a
    # command's --json or piped output: keep its talk on stderr and to warnings only.
    nncf.set_log_level(logging.WARNING)
    with contextlib.redirect_stdout(sys.stderr):
        return nncf.compress_weights(model, mode=nncf.CompressWeightsMode.INT8_ASYM)
