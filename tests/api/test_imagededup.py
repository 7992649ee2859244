"""`DuplicateGroups.to_imagededup()` has the shape of imagededup's own `find_duplicates`, so a
script written for imagededup runs on vitrieve's groups after a one-line change.

imagededup (installed by scripts/setup.sh, tests only) runs in a child process on the same
folder with its hash method (PHash). Its package imports its CNN and plotting code at import
time, which need torchvision and matplotlib; the hash methods use neither, so the child gets
empty stand-ins for those two (a CPU-only machine has no working torchvision). What is compared
is the structure (keys are the folder's files by relative name, values lists of other keys,
exact copies paired), not the groups: a perceptual hash and a ViT do not agree on near pairs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("imagededup", reason="scripts/setup.sh installs imagededup (without its deps)")

#: Whatever a stand-in module is asked for (a class, a constant, a call on them) it returns.
ANYTHING = """
class Anything:
    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        return self


def __getattr__(name):
    return Anything()
"""
STAND_INS = {
    "torchvision/__init__.py": ANYTHING,
    "torchvision/models/__init__.py": ANYTHING,
    "torchvision/models/vision_transformer.py": ANYTHING,
    "torchvision/transforms/__init__.py": ANYTHING,
    "torchvision/transforms/transforms.py": ANYTHING,
    "matplotlib/__init__.py": ANYTHING,
    "matplotlib/gridspec.py": ANYTHING,
    "matplotlib/pyplot.py": ANYTHING,
    "matplotlib/figure.py": ANYTHING,
}
THEIRS = """
import json, sys
from imagededup.methods import PHash
found = PHash(verbose=False).find_duplicates(
    image_dir=sys.argv[1], recursive=True, num_enc_workers=1, num_dist_workers=1
)
print(json.dumps(found))
"""


def imagededup_output(folder: Path, scratch: Path) -> dict:
    for rel, text in STAND_INS.items():
        (scratch / rel).parent.mkdir(parents=True, exist_ok=True)
        (scratch / rel).write_text(text)
    env = os.environ | {"PYTHONPATH": str(scratch)}
    done = subprocess.run(
        [sys.executable, "-c", THEIRS, str(folder)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def well_formed(found: dict) -> bool:
    return all(
        isinstance(key, str)
        and isinstance(values, list)
        and all(isinstance(v, str) and v in found and v != key for v in values)
        for key, values in found.items()
    )


def test_to_imagededup_has_the_shape_of_imagededups_own_output(split_lib, split_base, tmp_path):
    train = split_base / "dataset" / "train"
    theirs = imagededup_output(train, tmp_path)
    ours = split_lib.duplicates(within=train, progress=False).to_imagededup(relative_to=train)
    assert set(ours) == set(theirs)  # every file of the folder, named relative to it
    assert well_formed(theirs) and well_formed(ours)
    for found in (ours, theirs):  # the exact copy inside train is paired both ways
        assert "backup/coffee.jpg" in found["coffee.jpg"]
        assert "coffee.jpg" in found["backup/coffee.jpg"]


def test_to_imagededup_names_files_by_absolute_path_by_default(split_lib, split_base):
    found = split_lib.duplicates(exact_only=True, progress=False).to_imagededup()
    dataset = split_base / "dataset"
    assert set(found) == {str(p) for p in dataset.rglob("*.*")}
    assert found[str(dataset / "test" / "astronaut-copy.jpg")] == [
        str(dataset / "train" / "astronaut.jpg")
    ]
