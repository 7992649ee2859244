"""What this process can run, found without loading a model: OpenVINO and NNCF installed and
loadable, and whether OpenVINO's CPU plugin computes bf16 natively here."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
from functools import cache

from vitrieve.indexer.runtimes.candidates import Abilities

log = logging.getLogger(__name__)

INSTALL_HINT = "install the extra: pip install 'vitrieve[openvino]'"


@cache
def detect() -> Abilities:
    try:
        import openvino as ov
    except ImportError:
        return Abilities(
            openvino=f"OpenVINO is not installed ({INSTALL_HINT})", nncf=False, openvino_bf16=False
        )
    except Exception as exc:  # a broken install: a missing shared library, an old glibc
        return Abilities(
            openvino=f"OpenVINO does not load here: {exc}", nncf=False, openvino_bf16=False
        )
    try:
        caps = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except Exception as exc:  # no CPU plugin for this processor
        return Abilities(
            openvino=f"OpenVINO's CPU plugin does not start here: {exc}",
            nncf=False,
            openvino_bf16=False,
        )
    return Abilities(
        openvino=None,
        nncf=importlib.util.find_spec("nncf") is not None,
        openvino_bf16="BF16" in caps,
    )


def version(package: str) -> str:
    """An installed package's version without importing it ('-' when absent)."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "-"
