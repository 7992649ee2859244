"""Writes tests/fixtures/tiny-vit: a randomly initialised ViT with the real model's class and
file layout (config.json, model.safetensors, preprocessor_config.json) but a few hundred KB.

The real ViT-B/16 cannot be downloaded where the tests run; this lets every test exercise the
true loading and inference code. A larger initializer range than ViT's 0.02 keeps the random
features discriminative, so search tests can tell different photos apart.

Usage: python scripts/make_tiny_vit.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

from transformers import ViTConfig

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(ROOT))

from benchmarks.common import save_random_vit  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "tiny-vit"


def main(out: Path = OUT) -> None:
    config = ViTConfig(
        image_size=224,
        patch_size=16,
        num_channels=3,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        initializer_range=0.2,
    )
    # Same seed and preprocessing (google/vit-base-patch16-224-in21k's) as the benchmarks' ViT.
    save_random_vit(config, out)
    total = sum(f.stat().st_size for f in out.iterdir())
    print(f"wrote {out} ({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
