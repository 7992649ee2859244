"""Tagging end to end with the tiny ViT: folder labels -> probe -> tags on the whole collection.

The tiny ViT's random features follow colour statistics, so the classes are scenes dominated by
red, green or blue with random shapes on top: different in every image, yet separable.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.support import TINY_VIT, other_vit, write_scenes
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.search.query import query_from_id
from vitrieve.search.tagging import query as tag_query
from vitrieve.search.tagging.apply import apply_probe, auto_tagger
from vitrieve.search.tagging.errors import ProbeModelMismatchError
from vitrieve.search.tagging.export import export_tags
from vitrieve.search.tagging.query import filter_ids_by_tag, image_tags, search_tagged
from vitrieve.search.tagging.store import latest_probes, replace_manual_tags
from vitrieve.search.tagging.train import train_from_csv, train_from_folders, train_from_ids
from vitrieve.tables.catalog import Image
from vitrieve.tables.tagging import Probe, Tag, TagSource


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> Path:
    """photos/train/<colour>/ (8 each) and photos/heldout/<colour>-<i>.png (3 each)."""
    photos = tmp_path_factory.mktemp("scenes") / "photos"
    write_scenes(photos / "train", 8, seed=0, by_folder=True)
    write_scenes(photos / "heldout", 3, seed=500, by_folder=False)
    return photos


@pytest.fixture(scope="module")
def ingested_home(scenes, tmp_path_factory) -> Path:
    """A library home with the scenes ingested, built once and copied for each test."""
    from vitrieve.core.config import Settings

    home = tmp_path_factory.mktemp("template") / "home"
    template = Settings(
        home=home, model=str(TINY_VIT), precision="fp32", runtime="torch", batch_size=8
    )
    with Library(template) as lib:
        assert ingest(lib, [scenes]).embedded == 33
    return home


def ids_by_name(lib: Library, folder: str = "") -> dict[str, int]:
    with lib.sessions() as session:
        rows = session.execute(select(Image.id, Image.rel_path)).all()
    return {Path(rel).name: i for i, rel in rows if rel.startswith(folder)}


def probe_tags(lib: Library, image_id: int) -> dict[str, float]:
    with lib.sessions() as session:
        tags = image_tags(session, image_id)
    return {t.label: t.score for t in tags if t.source == "probe"}


def top_probe_tag(lib: Library, image_id: int) -> str:
    tags = probe_tags(lib, image_id)
    return max(tags, key=tags.get)


def test_folder_labels_train_a_probe_whose_tags_on_held_out_images_are_right(lib, scenes):
    result = train_from_folders(lib, "colours", scenes / "train")
    assert (result.version, result.classes) == (1, ["blue", "green", "red"])
    assert result.counts == {"blue": 8, "green": 8, "red": 8}
    assert result.metrics["mode"] == "single-label" and result.metrics["accuracy"] >= 0.9
    summary = apply_probe(lib, "colours", batch_size=7)  # several batches
    assert summary.images == 33
    heldout = ids_by_name(lib, "heldout/")
    assert len(heldout) == 9
    for name, image_id in heldout.items():
        colour = name.split("-")[0]
        assert top_probe_tag(lib, image_id) == colour, name
        assert probe_tags(lib, image_id)[colour] >= 0.5
    with lib.sessions() as session:
        red = set(filter_ids_by_tag(session, "red").tolist())
    assert {heldout[f"red-{i}.png"] for i in range(3)} <= red
    assert not red & {heldout[f"blue-{i}.png"] for i in range(3)}


def test_images_ingested_after_training_are_tagged_automatically(lib, scenes, tmp_path):
    train_from_folders(lib, "colours", scenes / "train")  # trained, never applied
    later = write_scenes(tmp_path / "later", 2, seed=900, by_folder=False)
    summary = ingest(lib, [later], on_embedded=auto_tagger(lib))
    assert summary.embedded == 6
    for name, image_id in ids_by_name(lib, "").items():
        if (later / name).exists():
            assert top_probe_tag(lib, image_id) == name.split("-")[0], name
    with lib.sessions() as session:
        versions = set(session.scalars(select(Tag.probe_version).where(Tag.source == "probe")))
    assert versions == {1}


def test_a_disabled_probe_does_not_tag_new_images(lib, scenes, tmp_path):
    from vitrieve.search.tagging.store import set_active

    train_from_folders(lib, "colours", scenes / "train")
    with lib.sessions.begin() as session:
        set_active(session, "colours", False)
    ingest(
        lib,
        [write_scenes(tmp_path / "later", 1, seed=900, by_folder=False)],
        on_embedded=auto_tagger(lib),
    )
    with lib.sessions() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Tag).where(Tag.source == TagSource.PROBE)
            )
            == 0
        )


def test_retraining_adds_a_version_and_reapplying_replaces_the_tags(lib, scenes):
    train_from_folders(lib, "colours", scenes / "train")
    apply_probe(lib, "colours")
    with lib.sessions() as session:
        first = session.scalar(select(func.count()).select_from(Tag))
    again = train_from_folders(lib, "colours", scenes / "train")
    assert again.version == 2
    apply_probe(lib, "colours", batch_size=5)
    with lib.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Tag)) == first
        versions = set(session.scalars(select(Tag.probe_version).where(Tag.source == "probe")))
        assert versions == {2}
        active = session.execute(select(Probe.version, Probe.active).order_by(Probe.version))
        assert active.all() == [(1, False), (2, True)]
        assert [p.version for p in latest_probes(session)] == [2]


def test_manual_labels_always_win_over_probe_scores(lib, scenes):
    train_from_folders(lib, "colours", scenes / "train")
    apply_probe(lib, "colours")
    red0 = ids_by_name(lib, "heldout/")["red-0.png"]
    assert top_probe_tag(lib, red0) == "red"
    with lib.sessions.begin() as session:  # the user says: this one is green
        replace_manual_tags(session, [red0], [["green"]], ["blue", "green", "red"])
    apply_probe(lib, "colours")  # re-applying never touches manual tags
    with lib.sessions() as session:
        assert red0 in filter_ids_by_tag(session, "green", min_score=0.99)
        assert red0 not in filter_ids_by_tag(session, "red")
        shown = {(t.label, t.source): t for t in image_tags(session, red0)}
    assert shown["green", "manual"].effective and shown["green", "manual"].score == 1.0
    assert shown["red", "probe"].overridden and not shown["red", "probe"].effective


def test_training_labels_become_manual_tags(lib, scenes):
    train_from_folders(lib, "colours", scenes / "train")
    with lib.sessions() as session:
        manual = session.execute(
            select(Tag.label, func.count()).where(Tag.source == "manual").group_by(Tag.label)
        ).all()
        only_manual = filter_ids_by_tag(session, "blue", min_score=1.0)
    assert dict(manual) == {"blue": 8, "green": 8, "red": 8}
    assert len(only_manual) == 8  # no probe tags yet; manual tags pass any threshold


def test_a_probe_of_another_model_refuses_to_run(lib, scenes, settings, tmp_path):
    train_from_folders(lib, "colours", scenes / "train")
    other = other_vit(tmp_path / "other-vit")
    with Library(settings.model_copy(update={"model": str(other)})) as lib2:
        with pytest.raises(ProbeModelMismatchError) as error:
            apply_probe(lib2, "colours")
        message = str(error.value)
        assert "'colours' was trained on model" in message and "retrain" in message
        assert str(TINY_VIT) in message and str(other) in message
        # Ingesting with the other model re-embeds everything; the old probe stays silent.
        ingest(lib2, [scenes / "heldout"], on_embedded=auto_tagger(lib2))
        with lib2.sessions() as session:
            assert session.scalar(select(func.count()).where(Tag.source == "probe")) == 0


def test_search_by_tag_returns_only_tagged_images_nearest_first(lib, scenes, monkeypatch):
    train_from_folders(lib, "colours", scenes / "train")
    apply_probe(lib, "colours")
    query = query_from_id(lib, ids_by_name(lib, "heldout/")["red-0.png"])
    with lib.sessions() as session:
        blue = set(filter_ids_by_tag(session, "blue").tolist())
    exact = search_tagged(lib, query, 5, tag="blue")
    assert len(exact) == 5 and {r.image_id for r in exact} <= blue
    assert [r.score for r in exact] == sorted((r.score for r in exact), reverse=True)
    monkeypatch.setattr(tag_query, "EXACT_MAX", 0)  # force the over-fetching index path
    through_index = search_tagged(lib, query, 5, tag="blue")
    assert [r.image_id for r in through_index] == [r.image_id for r in exact]
    assert [r.score for r in through_index] == pytest.approx([r.score for r in exact], abs=1e-5)
    everything = search_tagged(lib, query, 100, tag="blue", folder=scenes / "heldout")
    assert {Path(r.path).name for r in everything} == {f"blue-{i}.png" for i in range(3)}


def test_export_lists_effective_tags_and_trains_again(lib, scenes, tmp_path):
    train_from_folders(lib, "colours", scenes / "train")
    apply_probe(lib, "colours")
    written = export_tags(lib, "colours", tmp_path / "tags.csv")
    lines = (tmp_path / "tags.csv").read_text().splitlines()
    assert lines[0] == "path,label,score,source,probe_version" and len(lines) == written + 1
    assert written == 33  # one effective tag per image at 0.5: 24 manual, 9 from the probe
    assert sum(",manual," in line for line in lines) == 24
    assert f"{scenes / 'heldout' / 'green-1.png'},green," in "\n".join(lines)
    again = train_from_csv(lib, "colours", tmp_path / "tags.csv")
    assert again.version == 2 and again.counts == {"blue": 11, "green": 11, "red": 11}


def test_explicit_ids_train_a_probe_too(lib):
    names = ids_by_name(lib, "train/")
    picked = {c: [names[f"{c}{i}.png"] for i in range(4)] for c in ("red", "blue")}
    result = train_from_ids(lib, "red-or-blue", picked)
    assert result.metrics["folds"] == 4 and result.classes == ["blue", "red"]
    apply_probe(lib, "red-or-blue")
    heldout = ids_by_name(lib, "heldout/")
    assert top_probe_tag(lib, heldout["blue-2.png"]) == "blue"
    assert top_probe_tag(lib, heldout["red-2.png"]) == "red"


def test_tagging_works_on_both_backends(database_url, scenes, settings, tmp_path):
    settings = settings.model_copy(update={"database_url": database_url})
    with Library(settings) as lib:
        ingest(lib, [scenes])
        train_from_folders(lib, "colours", scenes / "train")
        assert apply_probe(lib, "colours", batch_size=10).images == 33
        later = write_scenes(tmp_path / "later", 1, seed=77, by_folder=False)
        ingest(lib, [later], on_embedded=auto_tagger(lib))
        with lib.sessions() as session:
            green = filter_ids_by_tag(session, "green")
        assert len(green) >= 8 + 3 + 1
        export_tags(lib, "colours", tmp_path / "out.csv")
        with lib.sessions.begin() as session:
            from vitrieve.search.tagging.store import delete_probe

            delete_probe(session, "colours")
        with lib.sessions() as session:
            left = session.execute(select(Tag.source, func.count()).group_by(Tag.source)).all()
        assert dict(left) == {"manual": 24}
