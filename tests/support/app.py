"""Helpers of the Streamlit AppTest suites: where the app is, what a page shows, and the
pictures the pages are tested with (the fixtures are in tests/ui/conftest.py)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from tests.support.photos import real_photo

APP = Path(__file__).parents[2] / "ui" / "app.py"
TIMEOUT = 120  # a first upload imports torch and loads the model inside the run
DUP_THRESHOLD = 0.99  # the tiny random ViT puts different photos closer than the real model does
SIMILAR = "Similar to "


def keep_downloads(monkeypatch) -> dict[str, bytes]:
    """Every file the app's download buttons offer, by the URL a button carries. AppTest stores
    them in a media store it makes afresh for each run and then drops; this keeps what each run
    stored, so a test can read an export as the browser would receive it."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.testing.v1 import app_test

    kept: dict[str, bytes] = {}

    class Keeping(MemoryMediaFileStorage):
        def load_and_get_id(self, path_or_data, mimetype, kind, filename=None) -> str:
            file_id = super().load_and_get_id(path_or_data, mimetype, kind, filename)
            kept[self.get_url(file_id)] = self.get_file(file_id).content
            return file_id

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", Keeping)
    return kept


def jpeg_bytes(name: str, quality: int = 75) -> bytes:
    """A real photo re-encoded (so its bytes match nothing in the catalog)."""
    buf = io.BytesIO()
    real_photo(name).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def texts(elements) -> list[str]:
    return [str(e.value) for e in elements]


def click(at, key: str):
    """Clicks the button with this key and reruns the page."""
    next(b for b in at.button if b.key == key).click()
    return at.run()


def card_paths(at, grid: str) -> list[str]:
    """Paths of the cards of one grid ("result", "pick", "tagged"...) in order: the first line
    of each thumbnail's tooltip (ui/views/grid.py hover_text), the full path in a code span."""
    prefix = f"open-{grid}-"
    helps = [b.help for b in at.button if b.key and b.key.startswith(prefix)]
    return [h.split("\n", 1)[0].removeprefix("`` ").removesuffix(" ``") for h in helps]


def result_paths(at) -> list[str]:
    """Paths of the result cards in order."""
    return card_paths(at, "result")


def write_copies_of_astronaut(folder: Path) -> None:
    """Ten files of skimage's astronaut (512 x 512) in ``folder``, each a way a copy comes
    about: two byte copies of a PNG, a lossless re-save, three JPEG re-encodes, a downscale, a
    crop and a WebP. One duplicate group of more than six members."""
    folder.mkdir()
    img = real_photo("astronaut")
    img.save(folder / "astronaut.png")
    for i in range(2):
        shutil.copy(folder / "astronaut.png", folder / f"astronaut-copy{i}.png")
    img.save(folder / "astronaut-resaved.png", compress_level=1)
    for q in (95, 85, 75):
        img.save(folder / f"astronaut-q{q}.jpg", quality=q)
    img.resize((400, 400)).save(folder / "astronaut-400.jpg", quality=90)
    img.crop((8, 8, 504, 504)).save(folder / "astronaut-crop.jpg", quality=90)
    img.save(folder / "astronaut.webp", quality=80)


def open_dups(open_page, view: str = "All groups"):
    """The Duplicates page at the suite's threshold, showing every group ("All groups") or
    one group at a time ("One group at a time", the page's default)."""
    at = open_page("duplicates")
    at.session_state["dup_view"] = view
    at.slider(key="dup_threshold").set_value(DUP_THRESHOLD).run()
    assert not at.exception and not at.error, texts(at.error)
    return at
