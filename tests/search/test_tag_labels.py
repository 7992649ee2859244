"""Bad training labels get a specific error naming what is wrong, never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support import TINY_VIT, colour_scene, write_scenes
from vitrieve.core.config import Settings
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.search.tagging.apply import apply_probe
from vitrieve.search.tagging.errors import (
    LabelError,
    NotEmbeddedError,
    ProbeNotFoundError,
    UnknownFilesError,
)
from vitrieve.search.tagging.train import train_from_csv, train_from_folders, train_from_ids
from vitrieve.tables.catalog import Image


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    photos = tmp_path_factory.mktemp("labels") / "photos"
    write_scenes(photos / "train", 3, seed=0, by_folder=True)
    (photos / "one-label" / "red").mkdir(parents=True)
    for i in range(2):
        colour_scene("red", 40 + i).save(photos / "one-label" / "red" / f"{i}.png")
    (photos / "flat").mkdir()
    colour_scene("blue", 50).save(photos / "flat" / "a.png")
    for label, colour in ((b"gr\xfcn", "green"), (b"rot", "red")):  # a Latin-1 folder name
        folder = photos / "latin1" / os.fsdecode(label)
        folder.mkdir(parents=True)
        for i in range(3):
            colour_scene(colour, 60 + i).save(folder / os.fsdecode(b"\xe9t\xe9-%d.png" % i))
    return photos


@pytest.fixture(scope="module")
def ingested_home(photos, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("labels-home") / "home"
    with Library(
        Settings(home=home, model=str(TINY_VIT), precision="fp32", runtime="torch")
    ) as lib:
        ingest(lib, [photos])
    return home


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_folder_name_that_is_not_utf8_becomes_a_readable_label(lib, photos):
    result = train_from_folders(lib, "colours", photos / "latin1")
    assert sorted(result.classes) == ["gr\\xfcn", "rot"]
    assert result.counts == {"gr\\xfcn": 3, "rot": 3}


def test_fewer_than_two_labels_is_refused(lib, photos):
    with pytest.raises(LabelError, match=r"at least 2 labels, got 1: red$"):
        train_from_folders(lib, "p", photos / "one-label")


def test_a_label_with_fewer_than_two_images_is_refused(lib, photos, tmp_path):
    train = photos / "train"
    csv = write_csv(
        tmp_path / "labels.csv",
        [f"{train}/red/red{i}.png,red" for i in range(3)] + [f"{train}/blue/blue0.png,blue"],
    )
    with pytest.raises(LabelError, match=r"at least 2 images; too few: blue \(1\)"):
        train_from_csv(lib, "p", csv)


def test_labelled_images_not_embedded_yet_are_listed(lib, tmp_path):
    folder = write_scenes(tmp_path / "late", 2, seed=70, by_folder=True)
    ingest(lib, [folder])
    colour_scene("red", 99).save(folder / "red" / "new.png")  # on disk, never ingested
    (folder / "blue" / "broken.png").write_bytes(b"not a png")
    ingest(lib, [folder / "blue"])  # the broken file is now 'failed'
    with pytest.raises(NotEmbeddedError) as error:
        train_from_folders(lib, "p", folder)
    assert error.value.problems == [
        f"{folder / 'blue' / 'broken.png'} (failed: not an image (unrecognised format))",
        f"{folder / 'red' / 'new.png'} (not ingested)",
    ]
    assert "2 labelled image(s) have no embedding" in str(error.value)


def test_a_csv_naming_unknown_files_lists_them(lib, photos, tmp_path):
    known = [f"{photos}/train/{c}/{c}{i}.png,{c}" for c in ("red", "blue") for i in range(3)]
    unknown = [f"missing/file{i:02d}.png,red" for i in range(23)]
    csv = write_csv(tmp_path / "labels.csv", ["path,label", *known, *unknown])
    with pytest.raises(UnknownFilesError) as error:
        train_from_csv(lib, "p", csv)
    assert error.value.paths == [f"missing/file{i:02d}.png" for i in range(23)]
    message = str(error.value)
    assert "names 23 file(s) that are not in the catalog" in message
    assert "missing/file19.png and 3 more" in message and "file20" not in message


def test_csv_paths_are_relative_to_the_csv_and_rows_add_labels(lib, photos):
    rows = [f"{c}/{c}{i}.png,{c}" for c in ("red", "green") for i in range(3)]
    rows += ["red/red0.png,warm", "red/red1.png,warm", "green/green0.png, warm "]
    csv = write_csv(photos / "train" / "labels.csv", rows)
    try:
        result = train_from_csv(lib, "p", csv)
    finally:
        csv.unlink()
    assert result.multilabel and result.counts == {"green": 3, "red": 3, "warm": 3}


def test_a_malformed_csv_row_names_its_line(lib, photos, tmp_path):
    csv = write_csv(tmp_path / "labels.csv", ["path,label", f"{photos}/flat/a.png,x", "oops"])
    with pytest.raises(LabelError, match=r"labels.csv, line 3: expected path,label"):
        train_from_csv(lib, "p", csv)
    with pytest.raises(LabelError, match=r"absent.csv: No such file"):
        train_from_csv(lib, "p", tmp_path / "absent.csv")


def test_a_folder_outside_the_catalog_or_without_label_folders_is_refused(lib, photos, tmp_path):
    outside = write_scenes(tmp_path / "elsewhere", 2, seed=3, by_folder=True)
    with pytest.raises(LabelError, match="is not in the catalog: run `vitrieve ingest"):
        train_from_folders(lib, "p", outside)
    with pytest.raises(LabelError, match="no images in sub-folders"):
        train_from_folders(lib, "p", photos / "flat")


def test_a_multilabel_label_on_every_image_is_refused(lib, photos):
    with lib.sessions() as session:
        ids = session.scalars(select(Image.id).where(Image.rel_path.startswith("train/"))).all()
    with pytest.raises(LabelError, match=r"without each label; images without: colour \(0\)"):
        train_from_ids(lib, "p", {"colour": ids, "first": ids[:3]})


def test_unknown_image_ids_are_listed(lib):
    with pytest.raises(LabelError, match=r"unknown image id\(s\): 998, 999"):
        train_from_ids(lib, "p", {"a": [1, 2, 998], "b": [3, 4, 999]})


def test_single_label_cannot_be_forced_on_images_with_several_labels(lib):
    with pytest.raises(LabelError, match=r"single-label probe, but image id\(s\) with several"):
        train_from_ids(lib, "p", {"a": [1, 2, 3], "b": [3, 4, 5]}, multilabel=False)


def test_a_label_belongs_to_one_probe(lib, photos):
    train_from_folders(lib, "colours", photos / "train")
    with pytest.raises(LabelError, match=r"already taken: red \(probe 'colours'\); retrain"):
        train_from_ids(lib, "warmth", {"red": [1, 2], "warm": [3, 4]})


def test_applying_an_unknown_probe_names_the_known_ones(lib, photos):
    train_from_folders(lib, "colours", photos / "train")
    with pytest.raises(ProbeNotFoundError, match="no probe named 'cats'; known probes: colours"):
        apply_probe(lib, "cats")
