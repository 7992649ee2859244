"""RAW+JPEG pairs are one photo (docs/DUPLICATES.md#rawjpeg-pairs): `dups` never groups a RAW
with its own JPEG, a byte copy of a pair is grouped with the original pair and moves as a unit,
undo restores both halves byte for byte, search shows a pair once by its JPEG, and
VITRIEVE_RAW_PAIRS=false gives the old behaviour. Real DNGs (pidng) and camera JPEGs through the
real pipeline (tiny ViT), driven through `vitrieve` as a user runs it."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.support import (
    TINY_VIT,
    camera_exif,
    cli_env,
    dng_bytes,
    invoke_cli,
    invoke_cli_json,
    real_photo,
    save_camera_jpeg,
)
from vitrieve.core.config import Settings
from vitrieve.indexer.catalog import describe_images
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.raw_pairs import all_pairs, pairs_among
from vitrieve.search.query import query_from_file
from vitrieve.ui.views.grid import hover_text
from vitrieve.ui.views.search import search_grid

NEAR = "0.99"
W, H = 960, 720  # the embedded preview is over twice the model's input: read as the picture
SHOTS = {1: "astronaut", 2: "coffee", 3: "chelsea"}  # and 4: rocket, without capture times


def _shoot(folder: Path, n: int, photo: str, *, jpeg_taken: datetime) -> None:
    rgb = np.asarray(real_photo(photo).resize((W, H)))
    raw = dng_bytes(
        rgb,
        preview=Image.fromarray(rgb),
        make="Canon",
        model="Canon EOS R5",
        taken=f"2024:05:01 10:00:0{n}",
    )
    (folder / f"IMG_{n}.DNG").write_bytes(raw)  # the camera's names differ in case only
    save_camera_jpeg(Image.fromarray(rgb), folder / f"img_{n}.jpg", camera_exif(taken=jpeg_taken))


@pytest.fixture
def library(tmp_path) -> tuple[dict, Path]:
    """photos/shoot: three RAW+JPEG shots (the third JPEG was written an hour later, so it is no
    twin of its RAW); photos/backup: a byte copy of shot 1's two files."""
    photos = tmp_path / "photos"
    shoot, backup = photos / "shoot", photos / "backup"
    shoot.mkdir(parents=True)
    backup.mkdir()
    for n, photo in SHOTS.items():
        taken = datetime(2024, 5, 1, 10 if n < 3 else 11, 0, n)
        _shoot(shoot, n, photo, jpeg_taken=taken)
    for name in ("IMG_1.DNG", "img_1.jpg"):
        shutil.copy2(shoot / name, backup / name)
    # neither half has a capture time: the folder and the name (case aside) decide
    rgb = np.asarray(real_photo("rocket").resize((W, H)))
    (shoot / "Été_4.DNG").write_bytes(dng_bytes(rgb, preview=Image.fromarray(rgb)))
    Image.fromarray(rgb).save(shoot / "été_4.JPG", quality=92)
    env = cli_env(tmp_path / "home") | {"TTY_COMPATIBLE": "0"}
    invoke_cli(env, "ingest", str(photos))
    return env, photos


def _settings(env: dict) -> Settings:
    home = Path(env["VITRIEVE_HOME"])
    return Settings(home=home, model=str(TINY_VIT), precision="fp32", runtime="torch")


def test_pairs_are_one_raw_and_one_jpeg_of_a_folder_name_and_moment(library):
    env, photos = library
    with Library(_settings(env)) as lib:
        pairs = all_pairs(lib)
        with lib.sessions() as session:
            path_of = {
                i.image_id: Path(i.path) for i in describe_images(session, range(1, 99)).values()
            }
        found = {
            (str(path_of[r].relative_to(photos)), str(path_of[j].relative_to(photos)))
            for r, j in pairs.rendition_of.items()
        }
        assert found == {
            ("shoot/IMG_1.DNG", "shoot/img_1.jpg"),
            ("backup/IMG_1.DNG", "backup/img_1.jpg"),
            ("shoot/IMG_2.DNG", "shoot/img_2.jpg"),
            ("shoot/Été_4.DNG", "shoot/été_4.JPG"),  # shot 3 is an hour apart: no pair
        }
        for raw, jpeg in pairs.rendition_of.items():  # a page of results finds the same pairs
            assert pairs_among(lib, [jpeg]).raw_of == {jpeg: raw}
            assert pairs_among(lib, [raw]).rendition_of == {raw: jpeg}


def _groups(env: dict) -> list[list[dict]]:
    return [g["members"] for g in invoke_cli_json(env, "dups", "-t", NEAR)["groups"]]


def _names(members: list[dict], photos: Path) -> set[str]:
    return {str(Path(m["path"]).relative_to(photos)) for m in members}


def test_a_copied_pair_groups_with_its_original_never_a_raw_with_its_own_jpeg(library):
    env, photos = library
    groups = {frozenset(_names(g, photos)): g for g in _groups(env)}
    pair_1 = {"IMG_1.DNG", "img_1.jpg"}
    copies = frozenset({f"{d}/{n}" for d in ("shoot", "backup") for n in pair_1})
    # shot 3's JPEG is an hour off its RAW: two photos, so an ordinary near-duplicate group
    unpaired = frozenset({"shoot/IMG_3.DNG", "shoot/img_3.jpg"})
    assert set(groups) == {copies, unpaired}  # shot 2's own RAW and JPEG are no group
    members = groups[copies]
    ids = {str(Path(m["path"]).relative_to(photos)): m["image_id"] for m in members}
    for m in members:  # each JPEG listed right after its own RAW, keeping or moving with it
        where = str(Path(m["path"]).parent.relative_to(photos))
        if m["path"].endswith(".jpg"):
            assert m["match"] == "pair" and m["pair_of"] == ids[f"{where}/IMG_1.DNG"]
    assert [Path(m["path"]).suffix for m in members] == [".DNG", ".jpg", ".DNG", ".jpg"]
    kept = {Path(m["path"]).parent.name for m in members if m["keeper"]}
    assert len(kept) == 1  # one whole pair is kept, the other is the copy


def test_quarantine_moves_a_pair_as_a_unit_and_undo_restores_both_halves(library, tmp_path):
    env, photos = library
    before = {p: p.read_bytes() for p in photos.rglob("*") if p.is_file()}
    q = tmp_path / "quarantine"
    done = invoke_cli_json(env, "dups", "quarantine", str(q), "-t", NEAR, "--apply")["done"]
    shot_1 = [m for m in done if Path(m["src"]).stem.lower() == "img_1"]
    folder = Path(shot_1[0]["src"]).parent
    assert [(Path(m["src"]), m["reason"]) for m in shot_1] == [  # the RAW, then its JPEG
        (folder / "IMG_1.DNG", "bytes"),
        (folder / "img_1.jpg", "pair"),
    ]
    assert not (folder / "IMG_1.DNG").exists() and not (folder / "img_1.jpg").exists()
    other = ({photos / "shoot", photos / "backup"} - {folder}).pop()
    assert (other / "IMG_1.DNG").exists() and (other / "img_1.jpg").exists()  # the kept pair
    invoke_cli(env, "dups", "undo")
    after = {p: p.read_bytes() for p in photos.rglob("*") if p.is_file()}
    assert after == before


def test_with_pairing_off_a_raw_and_its_own_jpeg_are_duplicates(library):
    env, photos = library
    off = env | {"VITRIEVE_RAW_PAIRS": "false"}
    groups = [_names(g, photos) for g in _groups(off)]
    assert {"shoot/IMG_2.DNG", "shoot/img_2.jpg"} in groups
    assert not any(m["match"] == "pair" for g in _groups(off) for m in g)


def test_search_shows_a_pair_once_by_its_jpeg_marked_as_having_a_raw(library, tmp_path):
    env, photos = library
    query = tmp_path / "query.jpg"
    real_photo("coffee").resize((W, H)).save(query, quality=70)
    shot_2 = {str(photos / "shoot" / n) for n in ("IMG_2.DNG", "img_2.jpg")}

    def hits(e: dict) -> list[dict]:
        found = invoke_cli_json(e, "search", str(query), "-k", "8")
        return [r for r in found if r["path"] in shot_2]

    paired = hits(env)
    assert [(r["path"], r["raw"]) for r in paired] == [
        (str(photos / "shoot" / "img_2.jpg"), str(photos / "shoot" / "IMG_2.DNG"))
    ]
    assert len(hits(env | {"VITRIEVE_RAW_PAIRS": "false"})) == 2
    terminal = env | {"TTY_COMPATIBLE": "1", "NO_COLOR": "1", "COLUMNS": "200"}
    shown = invoke_cli(terminal, "search", str(query), "-k", "8").stdout
    assert "+RAW" in next(line for line in shown.splitlines() if "img_2.jpg" in line)

    with Library(
        _settings(env)
    ) as lib:  # the UI's search grid: once, with a RAW badge and its name
        items = [i for i in search_grid(lib, query_from_file(lib, query), 8) if i.path in shot_2]
    assert [(i.path, i.raw) for i in items] == [(r["path"], r["raw"]) for r in paired]
    assert "RAW+JPEG: shot with `` IMG_2.DNG ``" in hover_text(items[0])


def test_search_still_returns_k_results_when_pairs_show_once(library, tmp_path):
    """10 files, 4 of them the RAW half of a pair: 6 results to show. Asking for k shows k
    (more hits are fetched when pairs fold), up to those 6."""
    env, _ = library
    query = tmp_path / "query.jpg"
    real_photo("coffee").resize((W, H)).save(query, quality=70)
    with Library(_settings(env)) as lib:
        q = query_from_file(lib, query)
        for k, expected in ((2, 2), (5, 5), (6, 6), (9, 6)):
            found = invoke_cli_json(env, "search", str(query), "-k", str(k))
            assert len(found) == expected, (k, found)
            assert len({r["path"] for r in found}) == expected
            assert len(search_grid(lib, q, k)) == expected, k
