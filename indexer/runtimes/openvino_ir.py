"""The model converted for OpenVINO (an IR: model.xml + model.bin), built once per weights and
kept under `VITRIEVE_HOME/cache/openvino`.

Converting a ViT-B/16 takes seconds to a minute on two cores, so it is paid once and reused. It
runs in a child process (`convert.py`): tracing and converting hold several copies of the
weights for a moment, and a child gives all of that back when it exits, so the process that goes
on embedding never holds more than the fp32 model and one candidate. A damaged or half-written
IR must never be loaded, so each one is built in a temporary folder,
recorded with the size and xxh3 hash of every file, fsynced and renamed into place in one step.
Opening checks the record against the files and rebuilds on any doubt. The name carries the
weights hash and OpenVINO's version, so new weights or a new OpenVINO never read an old IR.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import xxhash

from vitrieve.indexer.durable import fsync_dir, fsync_file
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


def _publish(tmp: Path, folder: Path, info: dict[str, Any]) -> None:
    record = {
        "files": {n: {"size": (tmp / n).stat().st_size, "xxh3": _hash(tmp / n)} for n in FILES},
        **info,
    }
    (tmp / RECORD).write_text(json.dumps(record, indent=1))
    for name in (*FILES, RECORD):
        fsync_file(tmp / name)
    if folder.exists():  # damaged (checked by the caller, under the runtime lock): replace it
        shutil.rmtree(folder)
    os.rename(tmp, folder)
    fsync_dir(folder.parent, strict=True)


def ensure_ir(
    cache_dir: Path,
    weights_hash: str,
    int8_weights: bool,
    model_dir: Path,
    input_size: tuple[int, int],
) -> Path:
    """The intact IR's model.xml, built first when missing or damaged from the weights in
    `model_dir` (int8 from the fp32 IR, which is built first). The caller holds the runtime
    lock."""
    folder = ir_folder(cache_dir, weights_hash, int8_weights)
    if is_intact(folder):
        return folder / "model.xml"
    fp32 = (
        ensure_ir(cache_dir, weights_hash, False, model_dir, input_size) if int8_weights else None
    )
    for stale in folder.parent.glob(".build-*"):  # a builder killed midway (we hold the lock)
        shutil.rmtree(stale, ignore_errors=True)
    if folder.exists():
        log.warning("the OpenVINO model in %s is damaged or incomplete: rebuilding it", folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=folder.parent))
    try:
        started = time.perf_counter()
        if fp32 is None:
            log.warning(
                "converting the model for OpenVINO (once for these weights; up to a minute on "
                "two cores)"
            )
        else:
            log.warning("compressing the OpenVINO model's weights to int8 (once for these weights)")
        _run_converter(model_dir, tmp, input_size, fp32)
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


def _run_converter(
    model_dir: Path, out: Path, input_size: tuple[int, int], fp32: Path | None
) -> None:
    """`convert.py` in a child process; its output (NNCF's tables among it) never reaches this
    process's stdout, and a failure is one error with the child's last lines."""
    h, w = input_size
    argv = [sys.executable, "-m", "vitrieve.indexer.runtimes.convert", str(model_dir), str(out)]
    argv += [str(h), str(w), *([] if fp32 is None else ["--int8-from", str(fp32)])]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not (out / "model.xml").is_file():
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise RuntimeError(f"OpenVINO conversion failed (exit {proc.returncode}): {tail}")
