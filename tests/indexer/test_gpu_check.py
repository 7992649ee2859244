"""The GPU check script runs here as a dry run (no CUDA: tiny images, a small ViT, Pillow
standing in for nvJPEG) and prints one JSON line with every ratio the real run reports."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_gpu_check_dry_run_prints_one_json_line_with_the_ratios(tmp_path: Path) -> None:
    env = {**os.environ, "VITRIEVE_WHEEL_SITE": str(tmp_path / "site"), "TMPDIR": str(tmp_path)}
    proc = subprocess.run(
        ["bash", "benchmarks/gpu_check.sh", "--dry-run"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["benchmark"] == "gpu_check" and result["dry_run"] is True
    for key in ("embedder_ratio", "ingest_ratio_to_bare", "bare_img_s", "ingest_img_s"):
        assert result[key] > 0, key
    ingest = result["ingest"]
    assert ingest["files"] == result["n"] and ingest["bottleneck"] in ingest["utilisation"]
    assert ingest["front_end_stats"]["gpu_images"] == result["n"]  # all through the front end
    assert result["preprocess_cosine"]["min"] > 0.99
