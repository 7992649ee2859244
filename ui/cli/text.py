"""User text (file names, paths, tags, reasons) on the terminal and in pipes: shown, never obeyed.

Why one module: a file name is chosen by whoever put the file in the library, and the CLI prints
it in a dozen commands. Printed as it is, a newline splits a record in a pipe, a TAB adds a
field, an ESC sequence recolours or rewrites the terminal, and rich reads ``[/red]`` as markup
(a crash) and ``[bold red]`` as a style (the name shown is not the file's). So every command
prints user text through `shown` (what the characters are) and `say` (a line that rich never
parses as markup), and `table.Records` does the same for every cell.

`shown` escapes, in one pass and with one syntax:

* a byte of a name that is not UTF-8 (a lone surrogate from ``surrogateescape``) as ``\\xNN``,
  the byte, as ``display_path`` does;
* C0 control characters and DEL (TAB, CR, LF, ESC...) as ``\\xNN``: the same byte in UTF-8;
* C1 controls, the line and paragraph separators and the bidi overrides and isolates, which
  can move or hide text on a terminal, as ``\\uNNNN``: a character, not a raw byte.

So a line holds exactly one record, and a name without a backslash of its own can be read back
exactly (the README says how); to act on a file, a script uses its id or ``--json``.
"""

from __future__ import annotations

import logging
import os
import re

from rich.console import Console
from rich.text import Text

from vitrieve.ui.cli.common import out
from vitrieve.ui.views.words import count  # every count in a CLI message: never "1 files"

__all__ = ["LogFormatter", "count", "line", "say", "shown"]

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte of a name
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}"


def shown(value: object) -> str:
    """``value`` (text, a path, a number) as one safe line of display text."""
    text = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    return _UNSAFE.sub(_escape, text)


Part = str | os.PathLike[str] | tuple[object, str] | int | float


def line(*parts: Part) -> Text:
    """A rich Text of ``parts``: plain values are user text, ``(value, style)`` is styled;
    each goes through `shown`, none is ever read as markup."""
    text = Text()
    for part in parts:
        if isinstance(part, tuple):
            text.append(shown(part[0]), style=part[1])
        else:
            text.append(shown(part))
    return text


def say(*parts: Part, console: Console | None = None, style: str = "", wrap: bool = False) -> None:
    """Print one line of `line(parts)` on ``console`` (stdout by default). On a terminal, or
    with ``wrap``, a long line is wrapped between words to the console's width (a word longer
    than a line is folded, never cut), not broken mid-word by the terminal; in a pipe it stays
    one line."""
    text = line(*parts)
    if style:
        text.stylize(style)
    console = console or out
    console.print(text, highlight=False, soft_wrap=not (wrap or console.is_terminal))


class LogFormatter(logging.Formatter):
    """Log lines on stderr: a message quoting a file name is shown like any other user text
    (a traceback, appended after it, keeps its lines)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return shown(super().formatMessage(record))
