"""The download route and the lightbox read the approved file and nothing else: a file or folder
swapped for a symbolic link after `servable_path` approved it is refused, and a response already
under way keeps serving the file it opened (never re-opened by path).

The route's response is driven as ASGI with real files (no server: the grant checks around it
are tested in tests/ui/test_browser.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio
import pytest
from PIL import Image

from tests.support import noise_image
from vitrieve.ui import originals
from vitrieve.ui.views.lightbox import exif_facts


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "photos" / "trip").mkdir(parents=True)
    noise_image(1).save(tmp_path / "photos" / "trip" / "beach.jpg")
    (tmp_path / "outside").mkdir()
    exif = Image.Exif()
    exif[0x010F] = "Secret camera"
    noise_image(2).save(tmp_path / "outside" / "beach.jpg", exif=exif)
    return (tmp_path / "photos").resolve()


def grant_for(path: Path) -> originals.Grant:
    return originals.Grant(path.resolve(), "session", b"browser", float("inf"))


def served(grant: originals.Grant, *, head: bool = False) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of the route's answer for `grant` (None: refused)."""
    fh = originals.open_approved(grant)
    assert fh is not None, "refused"
    return respond(originals.file_response(fh, grant, head=head, headers={}))


def respond(response) -> tuple[int, dict[str, str], bytes]:
    messages: list[dict] = []

    async def receive() -> dict:
        await anyio.sleep_forever()
        return {}

    async def send(message: dict) -> None:
        messages.append(message)

    scope = {"type": "http", "method": "GET", "headers": [], "asgi": {"spec_version": "2.4"}}
    anyio.run(response, scope, receive, send)
    start = messages[0]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in messages[1:])


def swap_for_link(path: Path, target: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
    path.symlink_to(target)


def test_the_approved_file_is_served_whole_as_an_attachment(root):
    photo = root / "trip" / "beach.jpg"
    status, headers, body = served(grant_for(photo))
    assert (status, body) == (200, photo.read_bytes())
    assert headers["content-length"] == str(photo.stat().st_size)
    assert headers["content-disposition"] == 'attachment; filename="beach.jpg"'
    assert headers["content-type"] == "image/jpeg"
    assert served(grant_for(photo), head=True)[1:] == (headers, b"")


def test_a_file_swapped_for_a_link_after_approval_is_refused(root, tmp_path):
    photo = root / "trip" / "beach.jpg"
    grant = grant_for(photo)
    swap_for_link(photo, tmp_path / "outside" / "beach.jpg")
    assert originals.open_approved(grant) is None
    swap_for_link(photo, Path("/etc/shadow"))
    assert originals.open_approved(grant) is None


def test_a_folder_swapped_for_a_link_after_approval_is_refused(root, tmp_path):
    grant = grant_for(root / "trip" / "beach.jpg")
    swap_for_link(root / "trip", tmp_path / "outside")
    assert originals.open_approved(grant) is None


def test_a_swap_during_the_response_cannot_change_what_is_served(root, tmp_path):
    """The file is opened once, when the request is checked; a link swapped in between that
    check and the body (the window a check-then-open-by-path route had) changes nothing."""
    photo = root / "trip" / "beach.jpg"
    expected = photo.read_bytes()
    grant = grant_for(photo)
    fh = originals.open_approved(grant)
    assert fh is not None
    swap_for_link(photo, tmp_path / "outside" / "beach.jpg")
    status, _, body = respond(originals.file_response(fh, grant, head=False, headers={}))
    assert (status, body) == (200, expected)


def test_the_lightbox_reads_no_exif_through_a_link_swapped_in(root, tmp_path):
    photo = root / "trip" / "beach.jpg"
    approved = photo.resolve()
    swap_for_link(photo, tmp_path / "outside" / "beach.jpg")
    assert exif_facts(approved) == []  # not the outside file's "Secret camera"
    swap_for_link(root / "trip", tmp_path / "outside")
    assert exif_facts(approved) == []
