"""Several search results at once (ui/components/selection.py): ticked after *Select photos*,
kept across reruns, given a label as tag examples, listed as paths, cleared, exported as CSV,
quarantined (a dry run, a confirmation, the move, an undo that restores them byte for byte)."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import datetime
from pathlib import Path

from PIL import Image as PILImage

from tests.support import click, jpeg_bytes, keep_downloads, result_paths, texts
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.reference import set_reference


def select(at, *indexes: int):
    """Uploads the cat photo, turns on *Select photos* and ticks these results (best first)."""
    at.file_uploader(key="upload").set_value(("cat.jpg", jpeg_bytes("chelsea"), "image/jpeg"))
    at.run()
    at.toggle(key="select_mode").set_value(True).run()
    ticks = [c.key for c in at.checkbox if c.key and c.key.startswith("sel-")]
    for i in indexes:
        at.checkbox(key=ticks[i]).check().run()
    paths = result_paths(at)
    return at, [paths[i] for i in indexes]


def on_disk(paths) -> dict[str, tuple[str, int]]:
    return {
        p: (hashlib.sha256(Path(p).read_bytes()).hexdigest(), Path(p).stat().st_mtime_ns)
        for p in paths
    }


def plan_to(at, dest: Path):
    at.text_input(key="select_dest").set_value(str(dest)).run()
    return click(at, "select-plan")


def test_ticked_results_become_tag_examples_and_their_paths_can_be_copied(catalog, open_page):
    at = open_page()
    at.file_uploader(key="upload").set_value(("cat.jpg", jpeg_bytes("chelsea"), "image/jpeg"))
    at.run()
    paths = result_paths(at)
    assert not [c for c in at.checkbox if c.key and c.key.startswith("sel-")]  # not yet
    at.toggle(key="select_mode").set_value(True).run()
    ticks = [c for c in at.checkbox if c.key and c.key.startswith("sel-")]
    assert len(ticks) == len(paths) == 10
    ticks[0].check().run()
    at.checkbox(key=ticks[2].key).check().run()  # the first tick survived that rerun
    assert "**2 selected**" in texts(at.markdown)
    assert at.checkbox(key=ticks[0].key).value and at.checkbox(key=ticks[2].key).value
    [listed] = [c.value for c in at.code]
    assert listed.splitlines() == [paths[0], paths[2]]

    at.text_input(key="select_label").set_value("cats")
    next(b for b in at.button if b.label == "Add as tag examples").click().run()
    assert not at.exception, [e.value for e in at.exception]
    chosen = [int(ticks[i].key.removeprefix("sel-")) for i in (0, 2)]
    assert at.session_state["tag_examples"] == {"cats": chosen}
    assert any("2 photos added to the examples of “cats”" in i for i in texts(at.info))
    assert not any(at.checkbox(key=t.key).value for t in ticks)  # the selection is cleared
    assert "**2 selected**" not in texts(at.markdown)


def test_selected_photos_are_planned_confirmed_moved_and_undone_byte_identically(
    catalog, open_page, tmp_path
):
    at, picked = select(open_page(), 0, 2)
    before = on_disk(picked)
    dest = tmp_path / "quarantine"
    at = plan_to(at, dest)
    [plan] = [d.value for d in at.dataframe if "from" in d.value.columns]
    assert list(plan["from"]) == picked
    assert any(m.startswith("**Dry run:** 2 files (") for m in texts(at.markdown))
    assert all(Path(p).exists() for p in picked) and not dest.exists()  # nothing moved yet
    assert next(b for b in at.button if b.key == "select-apply").disabled  # confirm first

    at.checkbox(key="select_confirm").check().run()
    at = click(at, "select-apply")
    assert not at.exception, [e.value for e in at.exception]
    assert f"Moved 2 files to {dest}." in texts(at.success), texts(at.success)
    assert not any(Path(p).exists() for p in picked)
    assert sorted(p.name for p in dest.rglob("*") if p.is_file()) == sorted(
        Path(p).name for p in picked
    )
    assert not set(picked) & set(result_paths(at))  # no longer searchable
    assert not any(m.endswith(" selected**") for m in texts(at.markdown))  # nor selected

    at = click(at, "select-undo")
    assert "Restored 2 files." in texts(at.success), texts(at.success)
    assert on_disk(picked) == before
    assert set(picked) <= set(result_paths(at))  # searchable again
    assert not [b for b in at.button if b.key == "select-undo"]


def test_a_photo_in_a_reference_folder_is_refused_and_stays(catalog, open_page, app_env, tmp_path):
    with Library(app_env) as lib:
        set_reference(lib, catalog / "trip")
    at, _ = select(open_page())
    paths = result_paths(at)
    ref = next(i for i, p in enumerate(paths) if "/trip/" in p)
    other = next(i for i, p in enumerate(paths) if "/trip/" not in p)
    for i in (ref, other):
        key = [c.key for c in at.checkbox if c.key and c.key.startswith("sel-")][i]
        at.checkbox(key=key).check().run()
    at = plan_to(at, tmp_path / "q")
    [plan] = [d.value for d in at.dataframe if "from" in d.value.columns]
    assert list(plan["from"]) == [paths[other]]
    assert f"{paths[ref]} stays: in the reference folder {catalog / 'trip'} (always kept)." in (
        texts(at.warning)
    )
    at.checkbox(key="select_confirm").check().run()
    at = click(at, "select-apply")
    assert Path(paths[ref]).exists() and not Path(paths[other]).exists()


def test_a_quarantine_folder_inside_a_root_is_refused_in_one_line(catalog, open_page):
    at, _ = select(open_page(), 0)
    at = plan_to(at, catalog / "quarantine")
    [error] = texts(at.error)
    assert "must be outside every library root" in error and "\n" not in error
    assert not [d for d in at.dataframe if "from" in d.value.columns]


def test_the_selection_exports_as_csv(catalog, open_page, monkeypatch):
    downloads = keep_downloads(monkeypatch)
    at, picked = select(open_page(), 0, 3)
    [button] = [b for b in at.get("download_button") if b.proto.label == "Export CSV"]
    assert button.proto.url.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(downloads[button.proto.url].decode())))
    assert [r["path"] for r in rows] == picked
    for row, path in zip(rows, picked, strict=True):
        with PILImage.open(path) as im:
            size = im.size
        assert row["name"] == Path(path).name
        assert int(row["size"]) == Path(path).stat().st_size
        assert (int(row["width"]), int(row["height"])) == size
        assert datetime.fromisoformat(row["date"])
        assert 0 < float(row["score"]) <= 1
    assert float(rows[0]["score"]) >= float(rows[1]["score"])  # results come best first
