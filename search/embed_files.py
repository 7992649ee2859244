"""Embeddings of arbitrary files for scripting (`vitrieve embed`): nothing is stored."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vitrieve.indexer.decode import DecodeError, decode_image
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


def embed_files(lib: Library, paths: list[Path]) -> list[FileVector]:
    settings = lib.settings
    out: list[FileVector] = []
    for path in paths:
        if not path.exists():  # the reader would call it vanished, but it was never there
            out.append(FileVector(str(path), None, "no such file"))
            continue
        try:
            data = read_file(path, max_size=settings.max_file_size)
            embedder = lib.embedder  # loaded once, after the first file proved readable
            decoded = decode_image(
                data,
                target_size=embedder.spec.target_size,
                source=str(path),
                max_pixels=settings.max_image_pixels,
            )
        except (ReadError, DecodeError) as exc:
            out.append(FileVector(str(path), None, exc.reason))
            continue
        vector = embedder.embed_images([decoded.image])[0]
        out.append(FileVector(str(path), [round(float(x), 7) for x in vector]))
    return out
