"""Handing memory back during the calibration, so its peak is one model copy at a time.

Two kinds of memory outlive their use. Freed heap blocks: glibc keeps them for reuse, so each
candidate's peak would stack on the last one's; `release_memory` returns them. An OpenVINO IR's
weights file: the CPU plugin maps model.bin and repacks the weights into its own buffers, yet
the mapped pages stay resident (and counted) for the compiled model's life, a second copy of the
weights. `page_out` asks the kernel to drop those pages; they are clean pages of a read-only
mapping, so a later read of them simply faults them back in from the file, unchanged.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
from pathlib import Path

MADV_PAGEOUT = 21  # Linux >= 5.4: reclaim these pages now


def release_memory() -> None:
    """Frees unreachable objects and hands freed heap back to the system (glibc only)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: it keeps what it keeps
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def page_out(path: Path) -> int:
    """Drops the resident pages of this process's read-only mappings of `path`; returns how
    many mappings were advised (0 where /proc or madvise is missing: nothing changes)."""
    try:
        maps = Path("/proc/self/maps").read_text().splitlines()
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return 0
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    target, advised = str(path.resolve()), 0
    for line in maps:
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5] == target and "w" not in fields[1]:
            start, end = (int(v, 16) for v in fields[0].split("-"))
            advised += libc.madvise(start, end - start, MADV_PAGEOUT) == 0
    return advised
