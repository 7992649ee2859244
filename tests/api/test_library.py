"""The public Python API (docs/PYTHON.md) on the tiny ViT and real photos: each function gives
what the CLI command it stands for gives, and fails with the CLI's one-line VitrieveError."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import vitrieve
from tests.support import api_settings, cli_env, invoke_cli, invoke_cli_json, write_photos


def test_open_is_a_context_manager_and_a_bad_setting_is_one_line(tmp_path):
    with vitrieve.open(**api_settings(tmp_path / "home")) as lib:
        assert isinstance(lib, vitrieve.Library)
        assert lib.settings.home == tmp_path / "home"
    with pytest.raises(vitrieve.VitrieveError, match="VITRIEVE_BATCH_SIZE=-1: must be >= 0"):
        vitrieve.open(home=tmp_path / "home", batch_size=-1)


def test_ingest_reports_like_the_cli_and_is_silent_when_asked(tmp_path, capfd):
    photos = write_photos(tmp_path / "photos")
    with vitrieve.open(**api_settings(tmp_path / "home")) as lib:
        report = lib.ingest(photos, progress=False)
        again = lib.ingest([str(photos)], progress=False)
    assert isinstance(report, vitrieve.IngestReport)
    assert (report.new, report.embedded, report.failed) == (6, 6, 0)
    assert (again.unchanged, again.embedded) == (6, 0)
    assert capfd.readouterr().err == ""


def test_ingest_of_a_missing_folder_is_the_cli_line(tmp_path, split_env):
    with (
        vitrieve.open(**api_settings(tmp_path / "home")) as lib,
        pytest.raises(vitrieve.VitrieveError) as caught,
    ):
        lib.ingest(tmp_path / "nowhere", progress=False)
    cli = invoke_cli(split_env, "ingest", str(tmp_path / "nowhere"), code=1)
    assert cli.stderr.strip() == f"error: {caught.value}"


def test_search_takes_a_file_an_id_bytes_a_pil_image_or_a_vector(split_lib, split_base):
    query = split_base / "dataset" / "test" / "coffee-q60.jpg"
    vector = split_lib.embed([query])[0]
    by_vector = split_lib.search(vector, k=4)
    assert Path(by_vector[0].path) == query  # a vector names no catalog row: nothing left out
    by_file = split_lib.search(query, k=3)
    assert all(isinstance(m, vitrieve.Match) for m in by_file)
    assert Path(by_file[0].path).name == "coffee.jpg"  # its train original
    assert query not in {Path(m.path) for m in by_file}  # a query in the catalog is left out
    by_id = split_lib.search(by_vector[0].image_id, k=3)
    assert [m.image_id for m in by_id] == [m.image_id for m in by_file]
    buffer = io.BytesIO()
    with Image.open(query) as image:
        image.save(buffer, format="PNG")
        assert split_lib.search(image, k=1)[0].image_id == by_vector[0].image_id
    assert split_lib.search(buffer.getvalue(), k=1)[0].image_id == by_vector[0].image_id


def test_search_in_a_folder_and_its_errors(split_lib, split_base, split_env, tmp_path):
    train = split_base / "dataset" / "train"
    query = split_base / "dataset" / "test" / "chelsea-small.png"
    results = split_lib.search(query, k=20, folder=train)
    assert results and all(Path(m.path).is_relative_to(train) for m in results)
    with pytest.raises(vitrieve.VitrieveError, match="not inside any registered root"):
        split_lib.search(query, folder=tmp_path)
    with pytest.raises(vitrieve.VitrieveError, match="shape"):
        split_lib.search(np.ones(3), k=1)
    with pytest.raises(vitrieve.VitrieveError) as caught:
        split_lib.search(99999, k=1)
    cli = invoke_cli(split_env, "search", "--id", "99999", code=1)
    assert cli.stderr.strip() == f"error: {caught.value}"


def test_embed_returns_the_cli_vectors_as_one_array(split_lib, split_base, split_env):
    files = sorted((split_base / "dataset" / "test").glob("*.jpg"))[:2]
    vectors = split_lib.embed(files)
    assert vectors.dtype == np.float32 and vectors.shape == (2, split_lib.embed(files[:1]).shape[1])
    cli = invoke_cli_json(split_env, "embed", *map(str, files))
    assert np.array_equal(vectors, np.asarray([r["vector"] for r in cli], np.float32))
    with pytest.raises(vitrieve.VitrieveError, match=r"nothing\.jpg: no such file"):
        split_lib.embed([files[0], split_base / "nothing.jpg"])


def test_tags_and_labels(split_lib, split_base, split_env):
    photo = split_base / "dataset" / "train" / "camera.jpg"
    assert split_lib.tags(photo) == []  # no probe trained: no tags yet
    assert split_lib.labels() == []
    with pytest.raises(vitrieve.VitrieveError, match="not in the catalog"):
        split_lib.tags(split_base / "elsewhere.jpg")
    with pytest.raises(vitrieve.VitrieveError, match="no image with id 99999"):
        split_lib.tags(99999)


def test_tags_of_a_trained_probe(tmp_path):
    photos = write_photos(tmp_path / "photos")
    labels = tmp_path / "labels.csv"
    rows = [f"{p},jpeg" for p in sorted(photos.glob("*.jpg"))]
    rows += [f"{p},png" for p in sorted(photos.glob("trip/*.png"))]
    labels.write_text("path,label\n" + "\n".join(rows) + "\n")
    with vitrieve.open(**api_settings(tmp_path / "home")) as lib:
        lib.ingest(photos, progress=False)
        invoke_cli(cli_env(tmp_path / "home"), "tag", "train", "kind", "--csv", str(labels))
        assert lib.labels() == ["jpeg", "png"]
        tags = lib.tags(photos / "coffee.jpg", min_score=0.0)
        cli = invoke_cli_json(cli_env(tmp_path / "home"), "tag", "show", str(photos / "coffee.jpg"),
                              "--min-score", "0")  # fmt: skip
    assert all(isinstance(t, vitrieve.ImageTag) for t in tags)
    assert tags[0].label == "jpeg" and tags[0].source == "manual"  # its training label
    assert [t.to_dict() for t in tags] == cli["tags"]


def test_duplicates_are_the_groups_of_vitrieve_dups(split_lib, split_env, split_base):
    threshold = "0.99"
    groups = split_lib.duplicates(threshold=0.99, progress=False)
    cli = invoke_cli_json(split_env, "dups", "--threshold", threshold)
    assert groups.to_dict()["groups"] == cli["groups"] and len(groups) == len(cli["groups"])
    frame = groups.to_pandas()
    assert len(frame) == sum(len(g.members) for g in groups)
    assert list(frame.columns) == ["group", *cli["groups"][0]["members"][0]]
    assert frame["keeper"].sum() == len(groups)
    test = split_base / "dataset" / "test"
    inside = split_lib.duplicates(threshold=0.99, within=test, progress=False)
    assert all(Path(m.path).is_relative_to(test) for g in inside for m in g.members)
    assert [sorted(Path(m.path).name for m in g.members) for g in inside] == [
        ["noise10-copy.png", "noise10.png"]
    ]
