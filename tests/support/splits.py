"""A train/test split of real photographs in which some test images are edited copies of train
images (leakage), for the public API's tests and docs/PYTHON.md's examples.

dataset/train: the six real photos as JPEG, four seeded synthetic pictures, and a byte copy of
one photo inside train (a duplicate within one set, never a leak). dataset/test: LEAKS (a byte
copy, the decoded pixels re-saved as PNG, a half-size resize, a quality-60 re-encode of train
photos) beside distinct pictures, one of them copied inside test (again no leak).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from tests.support.photos import PHOTO_NAMES, TINY_VIT, noise_image, real_photo

#: test file -> the train file it copies (edited); how vitrieve should call the match.
LEAKS = {
    "astronaut-copy.jpg": ("astronaut.jpg", "bytes"),
    "rocket.png": ("rocket.jpg", "pixels"),
    "chelsea-small.png": ("chelsea.jpg", "near"),
    "coffee-q60.jpg": ("coffee.jpg", "near"),
}
#: The similarity at which the tiny ViT of the tests tells these edits from distinct pictures.
LEAK_THRESHOLD = 0.99


def write_split(root: Path) -> Path:
    """dataset/train and dataset/test under root (module doc); returns root/dataset."""
    dataset = root / "dataset"
    train, test = dataset / "train", dataset / "test"
    (train / "backup").mkdir(parents=True)
    test.mkdir()
    for name in PHOTO_NAMES:
        real_photo(name).save(train / f"{name}.jpg", quality=92)
    for seed in range(4):
        noise_image(seed).save(train / f"noise{seed}.png")
    shutil.copy(train / "coffee.jpg", train / "backup" / "coffee.jpg")
    shutil.copy(train / "astronaut.jpg", test / "astronaut-copy.jpg")
    with Image.open(train / "rocket.jpg") as im:
        im.save(test / "rocket.png")
    chelsea = real_photo("chelsea")
    chelsea.resize((chelsea.width // 2, chelsea.height // 2)).save(test / "chelsea-small.png")
    real_photo("coffee").save(test / "coffee-q60.jpg", quality=60)
    for seed in range(10, 14):
        noise_image(seed).save(test / f"noise{seed}.png")
    shutil.copy(test / "noise10.png", test / "noise10-copy.png")
    import skimage.data

    for name in ("hubble_deep_field", "retina"):
        Image.fromarray(np.asarray(getattr(skimage.data, name)())).convert("RGB").save(
            test / f"{name}.jpg", quality=90
        )
    return dataset


def api_settings(home: Path) -> dict[str, object]:
    """`vitrieve.open(**api_settings(home))`: the tiny ViT, measured nothing, no calibration."""
    return {
        "home": home,
        "model": str(TINY_VIT),
        "precision": "fp32",
        "runtime": "torch",
        "auto_calibrate": False,
    }
