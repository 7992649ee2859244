"""File names that are not valid UTF-8: how they are stored in SQL and how they are shown.

POSIX file names are bytes. Python hands them to us as ``str`` decoded with
``surrogateescape``: every byte that is not part of valid UTF-8 (a Latin-1 ``é`` = 0xE9 from an
old Samba share) becomes a lone surrogate U+DC80..U+DCFF, and ``os.*`` turns it back into the
same byte. Such a ``str`` is what all our code works with, because it is the only form the OS
accepts. SQL drivers refuse lone surrogates, though (they are not Unicode text), and so do
terminals, JSON parsers and the browser.

So there are two more forms, and this module is the only place that converts:

* **DB text** (``to_db`` / ``from_db``, applied to path columns by ``FsPath``): each lone
  surrogate U+DCxx becomes the escape character ``ESC`` (U+10FFFD, the last code point of
  Plane 16 Private Use, which no real file name uses) followed by the byte as two lower-case
  hex digits; a literal ``ESC`` in a name becomes ``ESC ESC``. The mapping works char by char
  and is prefix-free, so it is reversible, a valid UTF-8 name is stored unchanged (no migration
  of existing rows) and ``LIKE 'folder/%'`` prefix queries keep working on the stored form.
* **Display text** (``display_path``): the undecodable bytes as ``\\xe9``, like Python's
  ``backslashreplace``: readable, valid Unicode, safe for terminals, JSON, CSV and the UI, but
  lossy (never turn it back into a path; look the file up by id instead).
"""

from __future__ import annotations

import codecs
import os
import re
import sys
from typing import Any

from sqlalchemy import JSON, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = [
    "DISPLAY_ERRORS",
    "ESC",
    "FsPath",
    "FsPathList",
    "Message",
    "display_path",
    "display_streams",
    "displayable",
    "from_db",
    "to_db",
]

#: Starts every escape in the stored form. A Private Use code point, so it is valid text
#: everywhere (SQLite, PostgreSQL UTF8, JSON) and never means anything to anyone else.
ESC = "\U0010fffd"

_SURROGATES = re.compile("[\ud800-\udfff]")
_TO_DB = re.compile(f"[\udc80-\udcff{ESC}]")
_SPECIAL = re.compile(f"[\ud800-\udfff{ESC}]")
_FROM_DB = re.compile(f"{ESC}(?:{ESC}|([89a-f][0-9a-f]))")


def _escape(match: re.Match[str]) -> str:
    c = match.group()
    return ESC + ESC if c == ESC else f"{ESC}{ord(c) - 0xDC00:02x}"


def _unescape(match: re.Match[str]) -> str:
    byte = match.group(1)
    return ESC if byte is None else chr(0xDC00 + int(byte, 16))


def to_db(name: str) -> str:
    """The stored form of an OS path string. Raises ValueError for a surrogate the OS can
    never produce (U+D800..U+DC7F, U+DD00..U+DFFF): such a str names no file."""
    if name.isascii() or _SPECIAL.search(name) is None:
        return name  # every UTF-8 name without ESC: the common case, stored unchanged
    if (bad := _SURROGATES.search(_TO_DB.sub("", name))) is not None:
        raise ValueError(f"not a file name: lone surrogate U+{ord(bad.group()):04X} in {name!r}")
    return _TO_DB.sub(_escape, name)


def from_db(text: str) -> str:
    """The OS path string of a stored form. An ``ESC`` that starts no escape (a row written
    before this encoding existed) is kept as it is, so reading never fails."""
    return text if ESC not in text else _FROM_DB.sub(_unescape, text)


def _show(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def display_path(path: str | os.PathLike[str]) -> str:
    """A readable, always-encodable form of a path for people and text formats:
    ``café.jpg`` stays as it is, the Latin-1 name b'caf\\xe9.jpg' shows as ``caf\\xe9.jpg``."""
    text = os.fspath(path)
    return text if text.isascii() else _SURROGATES.sub(_show, text)


def displayable(data: Any) -> Any:
    """``data`` with every string and path in display form, for JSON output: a lone surrogate
    would otherwise come out as a ``\\udce9`` escape that strict JSON parsers reject."""
    if isinstance(data, str | os.PathLike):
        return display_path(data)
    if isinstance(data, dict):
        return {displayable(k): displayable(v) for k, v in data.items()}
    if isinstance(data, list | tuple | set | frozenset):
        return [displayable(v) for v in data]
    return data


#: An encoding error handler that writes undecodable name bytes as ``\xe9`` (the display form)
#: and anything else the stream cannot encode as a backslash escape.
DISPLAY_ERRORS = "vitrieve-display"


def _display_errors(exc: UnicodeError) -> tuple[str | bytes, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    if _SURROGATES.fullmatch(bad[0]):
        return _SURROGATES.sub(_show, bad[0]), exc.start + 1
    return codecs.backslashreplace_errors(exc)


codecs.register_error(DISPLAY_ERRORS, _display_errors)


def display_streams() -> None:
    """Make stdout and stderr print names in display form instead of failing: a terminal in a
    UTF-8 locale refuses lone surrogates, so one Latin-1 name in a log line or a message would
    otherwise abort a command. Called once by the CLI entry point."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors=DISPLAY_ERRORS)


class FsPath(TypeDecorator[str]):
    """A path column: OS path strings in Python, ``to_db`` text in SQL (DDL stays TEXT).

    Comparisons with plain values (``==``, ``in_``, ``startswith``) encode them the same
    way, so queries are written with OS strings like everything else."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else to_db(os.fspath(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else from_db(value)


class FsPathList(TypeDecorator[list[str]]):
    """A JSON list of paths (a job's folders), each in the stored form of ``FsPath``."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> list[str] | None:
        return None if value is None else [to_db(os.fspath(p)) for p in value]

    def process_result_value(self, value: Any, dialect: Dialect) -> list[str] | None:
        return None if value is None else [from_db(p) for p in value]


class Message(TypeDecorator[str]):
    """A human-readable message column (failure reasons): a path quoted in a message is
    stored in its display form, so no message can ever fail to be written."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else display_path(str(value))
