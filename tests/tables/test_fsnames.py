"""The stored and the displayed form of file names that are not valid UTF-8 (tables/fsnames)."""

from __future__ import annotations

import io
import itertools
import json
import os
import random
from pathlib import Path

import pytest
from sqlalchemy import select, text

from vitrieve.core.config import Settings
from vitrieve.indexer.catalog import under_folder
from vitrieve.indexer.library import Library
from vitrieve.tables.catalog import Image, ImageStatus, Root
from vitrieve.tables.fsnames import (
    DISPLAY_ERRORS,
    ESC,
    display_path,
    displayable,
    from_db,
    to_db,
)
from vitrieve.tables.jobs import Job

LATIN1 = os.fsdecode(b"caf\xe9.jpg")
VALID_NAMES = ["plain.jpg", "café.jpg", "日本/写真.png", "emoji-😀.jpeg", "a b/c%d_e.jpg", ""]


def random_byte_name(rng: random.Random) -> bytes:
    """Any bytes but '/' and NUL, biased towards the high half where invalid UTF-8 lives."""
    alphabet = [b for b in range(1, 256) if b != 0x2F]
    high = [b for b in alphabet if b >= 0x80]
    return bytes(
        rng.choice(high if rng.random() < 0.5 else alphabet) for _ in range(rng.randint(0, 24))
    )


def test_valid_utf8_names_are_stored_unchanged():
    for name in VALID_NAMES:
        assert to_db(name) == name and from_db(name) == name
        assert display_path(name) == name


def test_every_byte_name_round_trips_to_the_same_bytes():
    rng = random.Random(20261201)
    for _ in range(5000):
        raw = random_byte_name(rng)
        name = os.fsdecode(raw)
        stored = to_db(name)
        stored.encode("utf-8")  # valid text: what SQLite and PostgreSQL accept
        assert os.fsencode(from_db(stored)) == raw


def test_literal_escape_characters_never_collide_with_escaped_bytes():
    # Every string up to length 5 over the characters the encoding uses: a name made of ESC,
    # hex digits and escaped bytes must decode to itself and to nothing else.
    alphabet = [ESC, "e", "9", "f", "x", "\udce9", "\udcff"]
    seen: dict[str, str] = {}
    for n in range(6):
        for chars in itertools.product(alphabet, repeat=n):
            name = "".join(chars)
            stored = to_db(name)
            assert from_db(stored) == name
            assert seen.setdefault(stored, name) == name, f"{name!r} and {seen[stored]!r}"


def test_the_encoding_keeps_prefixes_so_folder_queries_work():
    rng = random.Random(7)
    for _ in range(1000):
        a, b = (os.fsdecode(random_byte_name(rng)) for _ in range(2))
        assert to_db(a + b) == to_db(a) + to_db(b)
    assert to_db(os.fsdecode(b"dir-\xff/x.jpg")).startswith(to_db(os.fsdecode(b"dir-\xff/")))
    assert not to_db(os.fsdecode(b"dir-\xff\xfe/x")).startswith(to_db(os.fsdecode(b"dir-\xff/")))


def test_a_surrogate_no_file_system_produces_is_refused():
    with pytest.raises(ValueError, match="U\\+D800"):
        to_db("bad-\ud800.jpg")


def test_reading_a_stray_escape_character_keeps_it():
    for stored in (ESC, f"a{ESC}", f"{ESC}zz", f"{ESC}7f", f"{ESC}E9"):
        assert from_db(stored) == stored


def test_display_form_is_readable_and_always_encodable():
    assert display_path(LATIN1) == "caf\\xe9.jpg"
    assert display_path(os.fsdecode(b"/share/dir-\xff/\xc3(")) == "/share/dir-\\xff/\\xc3("
    rng = random.Random(3)
    for _ in range(1000):
        display_path(os.fsdecode(random_byte_name(rng))).encode("utf-8")
    data = {"path": LATIN1, "items": [os.fsdecode(b"\xff"), 3, None], "p": Path(LATIN1)}
    assert json.loads(json.dumps(displayable(data), ensure_ascii=False)) == {
        "path": "caf\\xe9.jpg",
        "items": ["\\xff", 3, None],
        "p": "caf\\xe9.jpg",
    }


def test_a_stream_with_the_display_handler_prints_names_instead_of_failing():
    buf = io.BytesIO()
    stream = io.TextIOWrapper(buf, encoding="utf-8", errors="strict")
    with pytest.raises(UnicodeEncodeError):
        stream.write(LATIN1)
        stream.flush()
    buf = io.BytesIO()
    stream = io.TextIOWrapper(buf, encoding="utf-8", errors=DISPLAY_ERRORS)
    stream.write(f"failed {LATIN1}: é\n")
    stream.flush()
    assert buf.getvalue() == "failed caf\\xe9.jpg: é\n".encode()
    assert "é \udce9".encode("ascii", DISPLAY_ERRORS) == b"\\xe9 \\xe9"


def test_path_columns_store_valid_text_and_queries_use_os_strings(database_url, tmp_path):
    root_path = os.fsdecode(os.fsencode(str(tmp_path)) + b"/share-\xe9")
    names = [LATIN1, os.fsdecode(b"dir-\xff/a.jpg"), os.fsdecode(b"dir-\xff\xfe/b.jpg"), "café.jpg"]
    names.append(f"literal-{ESC}e9.jpg")  # looks like an escape once stored: must stay distinct
    names.append(os.fsdecode(b"literal-\xe9.jpg"))
    settings = Settings(home=tmp_path / "home", database_url=database_url)
    with Library(settings) as lib, lib.sessions.begin() as session:
        root = Root(path=root_path)
        session.add(root)
        session.flush()
        for name in names:
            session.add(Image(root_id=root.id, rel_path=name, size=1, mtime_ns=0))
        session.add(Job(paths=[root_path]))
        session.add(
            Image(
                root_id=root.id,
                rel_path="broken.jpg",
                size=0,
                mtime_ns=0,
                status=ImageStatus.FAILED,
                error=f"cannot read {root_path}/broken.jpg",
            )
        )
    with Library(settings) as lib, lib.sessions() as session:
        raw = dict(session.execute(text("SELECT rel_path, rel_path FROM images")).all())
        assert "café.jpg" in raw  # valid names are stored as they are
        assert to_db(LATIN1) in raw and LATIN1 not in raw
        assert session.scalar(select(Root.path)) == root_path
        assert sorted(session.scalars(select(Image.rel_path))) == sorted([*names, "broken.jpg"])
        assert session.scalar(select(Image.id).where(Image.rel_path == LATIN1)) is not None
        in_dir = session.scalars(
            select(Image.rel_path).where(under_folder(os.fsdecode(b"dir-\xff")))
        ).all()
        assert in_dir == [os.fsdecode(b"dir-\xff/a.jpg")]
        both = session.scalars(select(Image.rel_path).where(Image.rel_path.in_(names[-2:]))).all()
        assert sorted(both) == sorted(names[-2:])
        assert session.scalar(select(Job.paths)) == [root_path]
        error = session.scalar(select(Image.error).where(Image.rel_path == "broken.jpg"))
        assert error == f"cannot read {display_path(root_path)}/broken.jpg"
