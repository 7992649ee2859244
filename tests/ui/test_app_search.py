"""Search page, in Streamlit's AppTest: upload, pick from the library, more like this, filters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import vitrieve.ui.views.search
from tests.support import SIMILAR, dng_bytes, jpeg_bytes, real_photo, result_paths, texts


def upload(at, name: str, data: bytes, mime: str = "image/jpeg"):
    at.file_uploader(key="upload").set_value((name, data, mime))
    return at.run()


def submit_path(at, path) -> None:
    at.text_input[0].set_value(str(path))
    next(b for b in at.button if b.label == "Search with this file").click()
    at.run()


def test_without_roots_the_page_says_to_add_a_folder(app_env, open_page):
    at = open_page("search")
    assert "No roots yet — add a folder on the Library page." in texts(at.info)
    assert not at.file_uploader


def test_an_uploaded_reencoded_photo_finds_its_original_first(catalog, open_page):
    at = upload(open_page(), "cat.jpg", jpeg_bytes("chelsea"))
    assert not at.error, texts(at.error)
    assert f"{SIMILAR}cat.jpg" in texts(at.caption)
    paths = result_paths(at)
    assert paths[0] == str(catalog / "trip" / "chelsea.png")
    assert len(paths) == 10  # every searchable image: k=20 > collection
    first = next(b for b in at.button if b.key and b.key.startswith("open-result-"))
    assert "similarity 1.000" in first.help  # in the tooltip, and as a badge
    assert "1.00 · same photo" in texts(at.markdown)  # the score in words beside it
    assert "similarity 1.000 (same photo)" in first.help


def test_an_uploaded_camera_raw_finds_its_photo(catalog, open_page):
    import numpy as np

    chelsea = real_photo("chelsea").resize((902, 600))  # its preview: large enough to be used
    raw = dng_bytes(np.asarray(chelsea), preview=chelsea)
    at = upload(open_page(), "IMG_0001.dng", raw, "image/x-adobe-dng")
    assert not at.error, texts(at.error)
    assert result_paths(at)[0] == str(catalog / "trip" / "chelsea.png")


def test_the_k_slider_limits_the_grid(catalog, open_page):
    at = open_page()
    at.sidebar.slider(key="k").set_value(3)
    at = upload(at, "coffee.jpg", jpeg_bytes("coffee"))
    assert len(result_paths(at)) == 3
    assert result_paths(at)[0] == str(catalog / "coffee.jpg")


def test_an_upload_that_is_not_an_image_shows_the_reason(catalog, open_page):
    at = upload(open_page(), "notes.jpg", b"these are not pixels", "image/jpeg")
    assert any("notes.jpg: not an image" in e for e in texts(at.error)), texts(at.error)
    assert result_paths(at) == []


def test_an_upload_over_the_cap_is_refused(catalog, open_page, monkeypatch):
    monkeypatch.setattr(vitrieve.ui.views.search, "MAX_UPLOAD_MB", 1)
    big = jpeg_bytes("astronaut") + b"\0" * (1024 * 1024)
    at = upload(open_page(), "huge.jpg", big)
    assert any("over the 1 MB upload limit" in e for e in texts(at.error)), texts(at.error)


def test_more_like_this_queries_by_the_result_and_leaves_it_out(catalog, open_page):
    at = upload(open_page(), "cat.jpg", jpeg_bytes("chelsea"))
    chelsea = str(catalog / "trip" / "chelsea.png")
    more = next(b for b in at.button if b.key and b.key.startswith("more-"))
    more.click().run()
    assert f"{SIMILAR}{chelsea}" in texts(at.caption)
    paths = result_paths(at)
    assert chelsea not in paths and len(paths) == 9


def test_a_path_outside_the_roots_is_refused_and_not_read(catalog, open_page, tmp_path):
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(jpeg_bytes("rocket"))
    at = open_page()
    submit_path(at, secret)
    [shown] = texts(at.error)
    assert shown == f"refused: {secret}: no such image under the registered roots"
    # A visitor cannot probe the disk: a missing file outside the roots reads the same.
    missing = tmp_path / "missing.jpg"
    submit_path(at, missing)
    assert texts(at.error) == [shown.replace(str(secret), str(missing))]
    submit_path(at, f"{catalog}/../secret.jpg")
    assert any("path traversal" in e for e in texts(at.error))
    assert result_paths(at) == []


def test_a_library_path_searches_by_its_stored_vector(catalog, open_page):
    at = open_page()
    submit_path(at, catalog / "coffee.jpg")
    assert not at.error, texts(at.error)
    assert f"{SIMILAR}{catalog / 'coffee.jpg'}" in texts(at.caption)
    assert str(catalog / "coffee.jpg") not in result_paths(at)


def test_browsing_the_library_and_searching_with_a_picked_image(catalog, open_page):
    at = open_page()
    at.selectbox(key="pick_folder").set_value("trip").run()
    picks = [b for b in at.button if b.key and b.key.startswith("pick-use-")]
    assert len(picks) == 3  # camera, chelsea, rocket under trip/
    picks[0].click().run()
    assert f"{SIMILAR}{catalog / 'trip' / 'camera.png'}" in texts(at.caption)
    assert len(result_paths(at)) == 9


def test_the_folder_filter_keeps_results_inside_it(catalog, open_page):
    at = open_page()
    at.sidebar.selectbox[0].select_index(1).run()  # the one root
    at.sidebar.selectbox[1].set_value("trip").run()
    at = upload(at, "cat.jpg", jpeg_bytes("chelsea"))
    paths = result_paths(at)
    assert paths and all(Path(p).parent == catalog / "trip" for p in paths)


@pytest.mark.parametrize(("last_day", "found"), [("today", 10), ("2001-01-01", 0)])
def test_the_date_filter_uses_the_photo_date(catalog, open_page, last_day, found):
    at = open_page()
    at.sidebar.checkbox[0].check().run()
    end = dt.date.today() if last_day == "today" else dt.date.fromisoformat(last_day)
    at.sidebar.date_input[0].set_value((dt.date(2000, 1, 1), end)).run()
    at = upload(at, "cat.jpg", jpeg_bytes("chelsea"))
    assert len(result_paths(at)) == found
    if not found:
        assert "No results pass these filters." in texts(at.info)


def test_open_never_hands_the_original_to_streamlits_media_store(catalog, open_page):
    """No st.download_button (its bytes would sit in /media for anyone with the URL). The link
    needs the route of `vitrieve ui` and a browser cookie, which AppTest has neither of: the
    dialog says so (tests/ui/test_browser.py downloads through the real server)."""
    at = upload(open_page(), "cat.jpg", jpeg_bytes("chelsea"))
    next(b for b in at.button if b.key and b.key.startswith("open-")).click().run()
    assert not at.error, texts(at.error)
    assert at.get("download_button") == [] and at.get("link_button") == []
    assert "Downloads are served by `vitrieve ui` (ui/server.py), not a bare app.py." in texts(
        at.caption
    )


def test_grids_are_drawn_from_webp_thumbnails_only(catalog, open_page):
    at = upload(open_page(), "cat.jpg", jpeg_bytes("chelsea"))
    urls = [img.url for element in at.get("image") for img in element.proto.imgs]
    webp = [u for u in urls if u.startswith("data:image/webp;base64,")]
    assert len(webp) == 20  # 10 in the library picker, 10 results
    # The one other picture is the uploaded query itself, shown above its results.
    assert [u[:23] for u in urls if u not in webp] == ["data:image/jpeg;base64,"]


def test_searching_by_a_library_image_never_loads_the_model(catalog, open_page):
    from vitrieve.ui.components.session import library

    at = open_page()
    next(b for b in at.button if b.key and b.key.startswith("pick-use-")).click().run()
    assert len(result_paths(at)) == 9
    assert "embedder" not in vars(library())  # the cached Library the page used


def test_the_lightbox_steps_through_the_results_and_searches_from_inside(catalog, open_page):
    at = upload(open_page(), "cat.jpg", jpeg_bytes("chelsea"))
    paths = result_paths(at)
    opens = [b for b in at.button if b.key and b.key.startswith("open-result-")]
    assert len(opens) == len(paths) == 10  # every result's thumbnail opens the lightbox
    opens[0].click().run()
    captions = texts(at.caption)
    assert paths[0] in captions and "1 of 10" in captions
    assert "No EXIF data in this file." in captions  # the test photos carry none
    assert at.button(key="lightbox-prev").disabled
    at.button(key="lightbox-next").click().run()
    assert {paths[1], "2 of 10"} <= set(texts(at.caption))
    at.button(key="lightbox-more").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert f"{SIMILAR}{paths[1]}" in texts(at.caption)
    assert paths[1] not in result_paths(at)  # the query itself is left out
