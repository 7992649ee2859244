"""The GPU front end records the keeper facts as the CPU path does: the same camera, GPS,
Software and JPEG quality from the header, and shot scores measured the same way (its own
resize on tensors, so sharpness agrees closely, not to the bit). Runs on CPU tensors with a Pillow
decoder standing in for nvJPEG, as tests/indexer/test_gpu_pipeline.py does."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from PIL import ImageFilter

from tests.support import PREPROCESS_SPEC as SPEC
from tests.support import camera_exif, pil_decoder, real_photo, save_camera_jpeg
from vitrieve.indexer.gpu_pipeline import GpuStats, gpu_prepared_stream
from vitrieve.indexer.pipeline import WorkItem, prepared_stream


def test_gpu_and_cpu_paths_record_the_same_facts(tmp_path: Path) -> None:
    root = tmp_path / "shots"
    exif = camera_exif("FUJIFILM", "X-T4", datetime(2023, 8, 1, 9, 0, 0), gps=True)
    save_camera_jpeg(real_photo("astronaut"), root / "sharp.jpg", exif, quality=88)
    blurred = real_photo("astronaut").filter(ImageFilter.GaussianBlur(2))
    save_camera_jpeg(blurred, root / "blurred.jpg", camera_exif(software="GIMP 2.10"))
    # Draft-decoded on the CPU path (1/2 here): the GPU path scores it through the same scale.
    big = real_photo("chelsea").resize((2400, 1600))
    save_camera_jpeg(big, root / "big.jpg", camera_exif("Apple", "iPhone 15"))
    items = [WorkItem(i, p) for i, p in enumerate(sorted(root.iterdir()))]

    cpu = {p.path.name: p for p in prepared_stream(items, SPEC, workers=1, window=4)}
    stats = GpuStats()
    gpu = {
        p.path.name: p
        for p in gpu_prepared_stream(
            items, SPEC, workers=1, window=4, device="cpu", decoder=pil_decoder, stats=stats
        )
    }

    assert stats.gpu_images == 3  # all took the GPU path
    for name in ("sharp.jpg", "blurred.jpg", "big.jpg"):
        c, g = cpu[name], gpu[name]
        assert (
            g.facts.camera,
            g.facts.has_gps,
            g.facts.software,
            g.facts.jpeg_quality,
            g.facts.blockiness,
        ) == (
            c.facts.camera,
            c.facts.has_gps,
            c.facts.software,
            c.facts.jpeg_quality,
            c.facts.blockiness,
        )
        assert g.facts.sharpness == pytest.approx(c.facts.sharpness, rel=0.03)
        assert g.facts.exposure == pytest.approx(c.facts.exposure, abs=0.02)
    assert gpu["sharp.jpg"].facts.camera == "FUJIFILM X-T4" and gpu["sharp.jpg"].facts.has_gps
    assert gpu["sharp.jpg"].facts.jpeg_quality == 88
    assert gpu["blurred.jpg"].facts.software == "GIMP 2.10"
    assert gpu["blurred.jpg"].facts.sharpness < gpu["sharp.jpg"].facts.sharpness / 4
