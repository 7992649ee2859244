"""The index file on disk: FAISS bytes plus a sidecar that says what they must be.

The file is a cache of SQL, so the rule is simple: anything that cannot be verified is treated
as absent and rebuilt. The sidecar (`NAME.meta.json`) records the xxh3-128 checksum and size of
the index bytes, the vector count and dimension, a generation that grows on every save, and
how the index was built. Opening hashes the bytes while FAISS reads them (one pass, from one
open file, so a concurrent rename cannot pair one file's bytes with another's checksum) and
accepts the file only when checksum, size, count and dimension all agree: flipped bits in the
vector region, a truncated or foreign file, or a sidecar that is missing, unparsable or
nonsensical (a generation of 1e400) all read as "no file".

Both files are written atomically (same-folder temp file, fsync, rename, fsync the folder),
index first, under the folder's writer lock (`index_lock`). A reader racing a save can see
the new index with the old sidecar; that fails verification, so the reader checks once more
under the shared lock, which waits for the writer to finish the pair.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import xxhash
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vitrieve.indexer.durable import fsync_dir
from vitrieve.indexer.index.lock import shared_index_lock, unwritable

log = logging.getLogger(__name__)

FORMAT = 1
_MAX_INT = 2**63 - 1
_READ_BLOCK = 1 << 22

Signature = tuple[int, int, int]
"""(inode, mtime_ns, size) of an index file: changes whenever a save replaces it."""


class Sidecar(BaseModel):
    """What a saved index file must be; strict, so any nonsense means "rebuild"."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    format: int = Field(ge=FORMAT, le=FORMAT)
    generation: int = Field(ge=0, le=_MAX_INT)
    count: int = Field(ge=0, le=_MAX_INT)
    dim: int = Field(ge=1, le=1 << 20)
    size: int = Field(ge=0, le=_MAX_INT)
    checksum: str = Field(pattern=r"^[0-9a-f]{32}$")
    saved_at: float = Field(allow_inf_nan=False)
    build: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LoadedFile:
    index: Any
    sidecar: Sidecar
    signature: Signature


def meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".meta.json")


def signature_of(path: Path) -> Signature | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def read_sidecar(path: Path) -> Sidecar | None:
    """The sidecar of index file `path`, or None when missing, unreadable or nonsensical."""
    try:
        return Sidecar.model_validate_json(meta_path(path).read_bytes())
    except (OSError, ValueError, ValidationError):  # ValidationError is a ValueError; explicit
        return None


def current_generation(path: Path) -> int:
    sidecar = read_sidecar(path)
    return sidecar.generation if sidecar is not None else 0


def read_index(path: Path, dim: int) -> LoadedFile | None:
    """The verified index at `path`, or None (with the reason logged) when it cannot be trusted.

    A failed check is repeated once under the shared writer lock, because a save in progress
    (new index, old sidecar) looks exactly like damage from outside.
    """
    if not path.exists():
        return None
    loaded, problem = _read_verified(path, dim)
    if loaded is None:
        with shared_index_lock(path.parent):
            loaded, problem = _read_verified(path, dim)
    if loaded is None and problem:
        log.warning("index %s %s; it will be rebuilt from the catalog", path, problem)
    return loaded


def _read_verified(path: Path, dim: int) -> tuple[LoadedFile | None, str | None]:
    sidecar = read_sidecar(path)
    if sidecar is None:
        return None, "has no valid sidecar (missing, unreadable or nonsensical)"
    try:
        with open(path, "rb") as handle:
            st = os.fstat(handle.fileno())
            digest = xxhash.xxh3_128()

            def read(n: int) -> bytes:
                chunk = handle.read(n)
                digest.update(chunk)
                return chunk

            try:
                index = faiss.read_index(faiss.PyCallbackIOReader(read, _READ_BLOCK))  # type: ignore[attr-defined]  # missing from faiss's stubs
            finally:
                while chunk := handle.read(_READ_BLOCK):  # trailing bytes count too
                    digest.update(chunk)
    except FileNotFoundError:
        return None, None
    except Exception as exc:  # faiss raises RuntimeError; be broad, the file is a cache
        return None, f"is unreadable ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
    signature = (st.st_ino, st.st_mtime_ns, st.st_size)
    if digest.hexdigest() != sidecar.checksum or st.st_size != sidecar.size:
        return None, "does not match its sidecar's checksum (damaged, or not the file saved)"
    if not isinstance(index, (faiss.IndexIDMap2, faiss.IndexIVF)):
        return None, f"is a {type(index).__name__}, not IndexIDMap2 or IVF"
    if index.d != dim or sidecar.dim != dim:
        return None, f"has dim {index.d}, expected {dim}"
    if index.ntotal != sidecar.count:
        return None, f"holds {index.ntotal} vectors, its sidecar says {sidecar.count}"
    return LoadedFile(index, sidecar, signature), None


def write_index(path: Path, index: Any, generation: int, build: dict) -> LoadedFile:
    """Atomically write `index` and then its sidecar; the caller holds `index_lock`.

    Raises IndexWriteError naming the path when the folder or disk refuses the write; the
    previous pair stays as it was (an old sidecar never vouches for new bytes).
    """
    digest = xxhash.xxh3_128()
    size = 0

    def write_faiss(handle) -> None:
        nonlocal size

        def write(chunk: bytes) -> None:
            nonlocal size
            digest.update(chunk)
            size += len(chunk)
            handle.write(chunk)

        faiss.write_index(index, faiss.PyCallbackIOWriter(write))  # type: ignore[attr-defined]  # missing from faiss's stubs

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        signature = _atomic_write(path, write_faiss)
        sidecar = Sidecar(
            format=FORMAT,
            generation=generation,
            count=int(index.ntotal),
            dim=int(index.d),
            size=size,
            checksum=digest.hexdigest(),
            saved_at=time.time(),
            build=build,
        )
        body = json.dumps(sidecar.model_dump()).encode()
        _atomic_write(meta_path(path), lambda handle: handle.write(body))
    except OSError as exc:
        raise unwritable(path, exc) from None
    return LoadedFile(index, sidecar, signature)


def _atomic_write(path: Path, write: Callable[[Any], Any]) -> Signature:
    """Write via a same-folder temp file then os.replace, so readers see old or new, never half.

    The temp file is fsynced before the rename and the folder after it, so a crash leaves the
    previous file or the complete new one. The file is made 0644 (mkstemp's 0600 would hide it
    from a UI running as another user).
    """
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o644)
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
            st = os.fstat(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return (st.st_ino, st.st_mtime_ns, st.st_size)
