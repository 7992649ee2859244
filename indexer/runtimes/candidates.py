"""The runtimes vitrieve can embed with, and which of them a setting or a machine allows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

Engine = Literal["torch", "openvino"]
#: Compute precision, with `int8-` meaning int8 weights (NNCF) computed at that precision.
Precision = Literal["fp32", "bf16", "fp16", "int8-fp32", "int8-bf16"]

#: uint8 pixels [N, H, W, 3] at the model's input size -> float32 [N, dim], unit length.
Forward = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, order=True)
class Runtime:
    engine: Engine
    precision: Precision

    @property
    def name(self) -> str:
        return f"{self.engine} {self.precision}"

    @property
    def int8_weights(self) -> bool:
        return self.precision.startswith("int8-")

    @property
    def compute(self) -> str:
        """The arithmetic precision: fp32, bf16 or fp16."""
        return self.precision.removeprefix("int8-")

    @classmethod
    def parse(cls, name: str) -> Runtime:
        engine, _, precision = name.partition(" ")
        if engine not in ("torch", "openvino") or precision not in PRECISIONS:
            raise ValueError(f"not a runtime: {name!r}")
        return cls(engine, precision)  # type: ignore[arg-type]


PRECISIONS = ("fp32", "bf16", "fp16", "int8-fp32", "int8-bf16")
REFERENCE = Runtime("torch", "fp32")

#: What a CPU may be offered, in the order they are tried (the reference first).
CPU_CANDIDATES = (
    REFERENCE,
    Runtime("torch", "bf16"),
    Runtime("openvino", "fp32"),
    Runtime("openvino", "bf16"),
    Runtime("openvino", "int8-fp32"),
    Runtime("openvino", "int8-bf16"),
)


@dataclass(frozen=True)
class Abilities:
    """What this process can run: the optional packages present and the CPU's bf16 support."""

    openvino: str | None  # why not, when OpenVINO cannot be used; None when it can
    nncf: bool
    openvino_bf16: bool


def cpu_candidates(engine: str, precision: str, can: Abilities) -> list[Runtime]:
    """The CPU runtimes the settings leave open (`auto` leaves every one) and this process can
    run. Torch bf16 is always offered: timing decides (it runs ~6x slower without AVX-512 BF16)."""
    out = []
    for rt in CPU_CANDIDATES:
        if engine != "auto" and rt.engine != engine:
            continue
        if precision != "auto" and rt.precision != precision:
            continue
        if rt.engine == "openvino":
            if can.openvino is not None:
                continue
            if rt.int8_weights and not can.nncf:
                continue
            if rt.compute == "bf16" and not can.openvino_bf16:
                continue
        out.append(rt)
    return out
