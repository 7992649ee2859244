"""How a `vitrieve` command ends: exit 0, or ONE line on stderr and exit 1 (2 for usage errors).

Commands never print their own errors; they raise, and `run` turns whatever reached the top
into a line that names the file or setting at fault. `describe` is the one place that happens,
so a new command gets the same behaviour without a try/except of its own. Every line passes
through `core.redact`, and the passwords of the configured database and broker URLs are
masked even where a driver quotes them; a control character left in it (a TAB or an ESC
sequence in a file name) is shown as ``\\xNN`` (``text.shown``). VITRIEVE_DEBUG=1 re-raises
unexpected errors so the traceback shows.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from vitrieve.core.db import catalog_of
from vitrieve.core.errors import VitrieveError
from vitrieve.core.redact import redact, url_password
from vitrieve.ui.cli.help import tidy
from vitrieve.ui.cli.text import shown

# typer >= 0.2x parses with its own copy of click, older ones with click itself; either way its
# public BadParameter derives from the UsageError that parser raises.
UsageError: Any = typer.BadParameter.__mro__[1]

_INTERRUPTED = 130
_SECRET_URLS = ("VITRIEVE_DATABASE_URL", "VITRIEVE_BROKER_URL")


def run(app: typer.Typer, prog_name: str = "vitrieve") -> int:
    """Runs the CLI and returns its exit status; all output about failures is one line."""
    try:
        code = tidy(typer.main.get_command(app))(prog_name=prog_name, standalone_mode=False)
    except UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `vitrieve db`: typer printed the help
            if exc.format_message():  # plain click builds it instead of printing it
                exc.show()
            return exc.exit_code
        where = exc.ctx.command_path if exc.ctx is not None else prog_name
        emit(f"{exc.format_message()} (see `{where} --help`)")
        return exc.exit_code
    except typer.Abort:  # EOF at a prompt
        emit("aborted")
        return 1
    except VitrieveError as exc:
        emit(describe(exc))
        return 1
    except Exception as exc:
        if os.environ.get("VITRIEVE_DEBUG"):
            raise
        emit(describe(exc))
        return 1
    if code == _INTERRUPTED:  # typer turns Ctrl-C into exit status 130
        emit("interrupted; work committed so far is kept, rerun to continue")
    return code if isinstance(code, int) else 0


def describe(exc: BaseException) -> str:
    """The exception as one line for a user: what went wrong and with which file or setting."""
    if isinstance(exc, VitrieveError):
        text = str(exc)
    elif isinstance(exc, DBAPIError):  # SQLAlchemy's own text carries the SQL and parameters
        text = f"catalog database error: {type(exc.orig).__name__}: {exc.orig}"
        where = catalog_of(exc)  # the file, or VITRIEVE_DATABASE_URL with its password masked
        text = f"{where}: {text}" if where else text
    elif isinstance(exc, SQLAlchemyError):
        text = f"catalog database error: {exc}"
    elif type(exc).__module__.startswith("alembic"):  # e.g. db upgrade NO-SUCH-REVISION
        text = f"catalog migrations: {exc}"
    elif isinstance(exc, OSError) and exc.filename is not None:
        target = shown(exc.filename) + (f" -> {shown(exc.filename2)}" if exc.filename2 else "")
        text = f"{target}: {exc.strerror or exc}"
    elif isinstance(exc, MemoryError):
        text = "out of memory"
    else:
        text = f"{type(exc).__name__}: {exc} (unexpected; VITRIEVE_DEBUG=1 shows the traceback)"
    return one_line(text)


def one_line(text: str) -> str:
    """Lines joined by spaces, secrets masked, no control character left."""
    joined = " ".join(line.strip() for line in text.splitlines() if line.strip())
    secrets = tuple(url_password(os.environ.get(name)) for name in _SECRET_URLS)
    return shown(redact(joined, secrets))


def emit(line: str) -> None:
    # Plain write, not rich: a path with "[red]" in its name must print as it is.
    sys.stderr.write(f"error: {shown(line)}\n")
    sys.stderr.flush()
