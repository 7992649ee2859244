"""Photos as cameras and editors write them, for the keeper and series tests: EXIF Make,
Model, DateTimeOriginal, GPS and Software set through Pillow, so the real decoder reads them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PIL import Image

MAKE, MODEL, SOFTWARE = 0x010F, 0x0110, 0x0131
EXIF_IFD, GPS_IFD, DATETIME_ORIGINAL = 0x8769, 0x8825, 0x9003


def camera_exif(
    make: str | None = "Canon",
    model: str | None = "Canon EOS R5",
    taken: datetime | None = datetime(2024, 5, 1, 10, 0, 0),
    *,
    gps: bool = False,
    software: str | None = None,
) -> Image.Exif:
    exif = Image.Exif()
    if make:
        exif[MAKE] = make
    if model:
        exif[MODEL] = model
    if software:
        exif[SOFTWARE] = software
    if taken:
        exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] = taken.strftime("%Y:%m:%d %H:%M:%S")
    if gps:
        gps_ifd = exif.get_ifd(GPS_IFD)
        gps_ifd[1], gps_ifd[2] = "N", (48.0, 51.0, 24.0)
        gps_ifd[3], gps_ifd[4] = "E", (2.0, 21.0, 3.0)
    return exif


def save_camera_jpeg(img: Image.Image, path: Path, exif: Image.Exif, quality: int = 92) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "JPEG", quality=quality, exif=exif.tobytes())
    return path
