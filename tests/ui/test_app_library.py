"""Library page: roots, adding and ingesting a folder, background jobs, failed files."""

from __future__ import annotations

import pytest

from tests.support import texts


def ingest_form(at, folder, button: str = "Ingest now"):
    at.text_input[0].set_value(str(folder))
    next(b for b in at.button if b.label == button).click()
    return at.run()


def frames(at, column: str) -> list:
    """The dataframes on the page that have `column`, in page order."""
    return [d.value for d in at.dataframe if column in d.value.columns]


def test_without_roots_the_page_invites_a_folder(app_env, open_page):
    at = open_page("library")
    assert "No roots yet — add a folder below." in texts(at.info)
    assert [b.label for b in at.button] == ["Ingest now"]  # no broker: no background button


def test_ingesting_a_folder_in_process_reports_counts_and_failures(app_env, library_dir, open_page):
    at = ingest_form(open_page("library"), library_dir)
    assert not at.error, texts(at.error)
    (done,) = texts(at.success)
    assert "12 new" in done and "2 failed" in done and "Embedded 10" in done
    (roots,) = frames(at, "folder")
    assert roots["folder"].tolist() == [str(library_dir)]
    assert roots["searchable"].tolist() == [10] and roots["failed"].tolist() == [2]
    this_run, listed = frames(at, "reason")  # the ingest's own failures, then the catalog's
    reasons = dict(zip(this_run["file"], this_run["reason"], strict=True))
    assert reasons[str(library_dir / "broken" / "zero.jpg")] == "empty file (0 bytes)"
    assert sorted(listed["file"]) == sorted(reasons)
    assert [p.proto.text.split(" (")[0] for p in at.get("progress")] == ["processed 12 / 12 images"]


def test_a_folder_that_does_not_exist_is_refused_with_its_path(app_env, open_page, tmp_path):
    at = ingest_form(open_page("library"), tmp_path / "nope")
    assert texts(at.error) == [f"{tmp_path / 'nope'}: not a directory"]


def test_a_folder_inside_the_data_directory_is_refused(app_env, open_page):
    thumbs = app_env.home / "thumbs"
    at = ingest_form(open_page("library"), thumbs)
    assert texts(at.error) == [
        f"{thumbs}: is inside the vitrieve data directory {app_env.home} (catalog, index and "
        "thumbnails live there); choose a folder of your photos"
    ]
    assert "No roots yet — add a folder below." in texts(at.info)


@pytest.mark.parametrize("watch", [False, True])
def test_queueing_a_folder_inside_the_data_directory_is_refused(
    app_env, open_page, redis_url, monkeypatch, watch
):
    monkeypatch.setenv("VITRIEVE_BROKER_URL", redis_url)
    at = open_page("library")
    if watch:
        at.checkbox[0].check()
    at = ingest_form(at, app_env.home / "index", "Queue in the background")
    assert texts(at.error) == [
        f"{app_env.home / 'index'}: is inside the vitrieve data directory {app_env.home} "
        "(catalog, index and thumbnails live there); choose a folder of your photos"
    ]
    assert not texts(at.success)


def test_failed_files_are_listed_with_their_reasons(catalog, open_page):
    at = open_page("library")
    (failed,) = frames(at, "reason")
    assert sorted(failed["reason"]) == [
        "empty file (0 bytes)",
        "not an image (unrecognised format)",
    ]


def test_with_a_broker_a_folder_is_queued_as_a_background_job(
    app_env, library_dir, open_page, redis_url, monkeypatch
):
    monkeypatch.setenv("VITRIEVE_BROKER_URL", redis_url)
    at = open_page("library")
    at.checkbox[0].check()
    at = ingest_form(at, library_dir, "Queue in the background")
    assert not at.error, texts(at.error)
    assert texts(at.success) == ["Queued as job 1; its progress shows below."]
    assert "**Job 1** · queued · " + str(library_dir) in texts(at.markdown)
    (roots,) = frames(at, "folder")
    assert roots["watched"].tolist() == [True]

    status = open_page("status")
    queues = {m.label: m.value for m in status.metric}
    assert queues["scan queue"] == "1" and queues["embed queue"] == "0"
    assert "No worker answered: start them with `vitrieve worker`." in texts(status.warning)


def only_root_id() -> int:
    from vitrieve.core.config import Settings
    from vitrieve.indexer.catalog import list_roots
    from vitrieve.indexer.library import Library

    with Library(Settings()) as lib:
        (root,) = list_roots(lib.sessions)
    return root.id


def test_removing_a_root_forgets_its_images_and_leaves_the_files(catalog, open_page):
    root_id = only_root_id()
    at = open_page("library")
    at.button(key=f"remove-{root_id}").click().run()
    assert texts(at.success) == [
        f"Removed root {catalog}: 12 images left the catalog (files untouched)."
    ]
    assert "No roots yet — add a folder below." in texts(at.info)
    assert (catalog / "coffee.jpg").is_file() and (catalog / "broken" / "zero.jpg").is_file()
    search = open_page("search")
    assert "No roots yet — add a folder on the Library page." in texts(search.info)


def test_watching_without_a_broker_is_stored_and_says_that_nothing_watches(catalog, open_page):
    root_id = only_root_id()
    at = open_page("library")
    assert any("nothing watches these folders" in c for c in texts(at.caption))
    at.toggle(key=f"watch-{root_id}").set_value(True).run()
    assert texts(at.success) == [f"{catalog}: watched."]  # no broker: no scan queued
    (roots,) = frames(at, "folder")
    assert roots["watched"].tolist() == [True]
    at.toggle(key=f"watch-{root_id}").set_value(False).run()
    assert texts(at.success) == [f"{catalog}: no longer watched."]
    (roots,) = frames(at, "folder")
    assert roots["watched"].tolist() == [False]


def test_rescanning_a_root_in_process_finds_what_changed(catalog, open_page):
    from tests.support import noise_image

    root_id = only_root_id()
    noise_image(42).save(catalog / "new-one.jpg", quality=90)
    (catalog / "coffee.jpg").unlink()
    at = open_page("library")
    at.button(key=f"rescan-{root_id}").click().run()
    assert not at.error, texts(at.error)
    (done,) = texts(at.success)
    assert "1 new" in done and "1 missing" in done and "Embedded 1" in done
    (roots,) = frames(at.run(), "folder")  # the table above was drawn before the rescan
    assert roots["searchable"].tolist() == [10] and roots["missing"].tolist() == [1]
