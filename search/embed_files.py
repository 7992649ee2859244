"""Embeddings of arbitrary files for scripting (`vitrieve embed`): nothing is stored."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vitrieve.indexer.decode import DecodedImage, DecodeError, decode_image
from vitrieve.indexer.library import Library
from vitrieve.indexer.reader import ReadError, read_file


@dataclass(frozen=True, slots=True)
class FileVector:
    path: str
    vector: list[float] | None
    error: str | None = None

    def to_dict(self) -> dict:
        d = {"path": self.path, "vector": self.vector}
        if self.error:
            d["error"] = self.error
        return d


def decode_for_model(lib: Library, data: bytes, source: str) -> DecodedImage:
    """`data` decoded for the library's model (its input size, the pixel limit): the one
    decode for images that are not ingested (query files, uploads, `embed`), so each is
    prepared exactly as ingest prepares a catalogued one. Raises DecodeError."""
    return decode_image(
        data,
        target_size=lib.embedder.spec.target_size,
        source=source,
        max_pixels=lib.settings.max_image_pixels,
    )


def embed_files(lib: Library, paths: list[Path]) -> list[FileVector]:
    settings = lib.settings
    out: list[FileVector] = []
    for path in paths:
        if not path.exists():  # the reader would call it vanished, but it was never there
            out.append(FileVector(str(path), None, "no such file"))
            continue
        try:
            data = read_file(path, max_size=settings.max_file_size)
            # The model loads once, after the first file proved readable.
            decoded = decode_for_model(lib, data, str(path))
        except (ReadError, DecodeError) as exc:
            out.append(FileVector(str(path), None, exc.reason))
            continue
        vector = lib.embedder.embed_images([decoded.image])[0]
        out.append(FileVector(str(path), [round(float(x), 7) for x in vector]))
    return out
