"""Running `vitrieve`: in this process (the default, fast) or as a real process (for what only a
real process shows: the binary's exit status, signals, kill -9, fd-level stdout vs stderr,
which modules a command imports, two commands at once).

`invoke_cli` is faithful to `python -m vitrieve`: it runs the same entry point
(`vitrieve.ui.cli.main.main`: display streams, quiet libraries, one-line errors, exit status)
with the process environment replaced by ``env``, cwd at the repository, fresh stdout/stderr
that are not terminals, the rich consoles rebuilt for that environment (they read COLUMNS,
NO_COLOR, FORCE_COLOR... when made), root logging and Python's default warning filters as a
new interpreter has them, and everything restored afterwards. What it cannot give back is a
new interpreter: modules stay imported and per-process caches keyed by file identity (the
thumbnail check, keyed by path, size and mtime) stay warm, which never changes an answer. What
a process's end does to files it leaves behind is done too: the libraries the command opened are
closed (SQLite's -wal/-shm files go, as after a real run).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.photos import TINY_VIT

REPO = Path(__file__).parents[2]
VITRIEVE_CLI = [sys.executable, "-m", "vitrieve"]
_NEEDS_A_PROCESS = {"ui", "worker", "beat"}  # they exec or serve until killed


def cli_env(home: Path, model: str = str(TINY_VIT)) -> dict[str, str]:
    """This environment without the developer's own VITRIEVE_* settings, aimed at a test home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITRIEVE_")}
    return env | {
        "VITRIEVE_HOME": str(home),
        "VITRIEVE_MODEL": model,
        "VITRIEVE_PRECISION": "fp32",
        "VITRIEVE_RUNTIME": "torch",
        "VITRIEVE_AUTO_CALIBRATE": "false",  # on only in the tests of automatic calibration
    }


def run_cli(env: dict[str, str], *args: str, code: int | None = 0) -> subprocess.CompletedProcess:
    """`vitrieve ARGS` in a real subprocess, as a user runs it; `code=None` skips the check."""
    proc = subprocess.run(
        [*VITRIEVE_CLI, *args], env=env, capture_output=True, text=True, timeout=300, cwd=REPO
    )
    if code is not None:
        assert proc.returncode == code, proc.stderr
    return proc


def run_cli_json(env: dict[str, str], *args: str):
    """`vitrieve ARGS --json` in a real subprocess (exit 0), its output parsed."""
    return json.loads(run_cli(env, *args, "--json").stdout)


def run_cli_together(
    env: dict[str, str], *commands: list[str]
) -> list[subprocess.CompletedProcess]:
    """Several `vitrieve` commands started at the same moment, as two terminals would; waits
    for all of them (no exit code checked)."""
    procs = [
        subprocess.Popen(
            [*VITRIEVE_CLI, *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for args in commands
    ]
    done = []
    for args, proc in zip(commands, procs, strict=True):
        out, err = proc.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(args, proc.returncode, out, err))
    return done


def invoke_cli(
    env: dict[str, str], *args: str, code: int | None = 0, stdin: str | None = None
) -> subprocess.CompletedProcess:
    """`vitrieve ARGS` in this process, as `run_cli` runs it in a new one (see the module
    docstring); the same CompletedProcess (returncode, stdout, stderr); `code=None` skips the
    check. ``stdin`` is what the command reads (default: nothing, so a prompt meets EOF)."""
    if args and args[0] in _NEEDS_A_PROCESS:
        raise ValueError(f"`vitrieve {args[0]}` needs a real process: use run_cli")
    from typer.testing import CliRunner

    from vitrieve.ui.cli import main

    overrides = {key: None for key in os.environ if key not in env} | dict(env)
    with CliRunner().isolation(input=stdin, env=overrides) as (out, err, _):
        with _closing_what_it_opens(), _as_a_new_process(["vitrieve", *args]):
            try:
                main.main()
                returncode: Any = 0
            except SystemExit as exc:
                returncode = exc.code
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
        stdout = out.getvalue().decode()
        stderr = err.getvalue().decode()
    if not isinstance(returncode, int):  # sys.exit("message") or sys.exit(None)
        stderr += "" if returncode is None else f"{returncode}\n"
        returncode = 0 if returncode is None else 1
    proc = subprocess.CompletedProcess(["vitrieve", *args], returncode, stdout, stderr)
    if code is not None:
        assert proc.returncode == code, proc.stderr
    return proc


def invoke_cli_json(env: dict[str, str], *args: str):
    """`vitrieve ARGS --json` in this process (exit 0), its output parsed."""
    return json.loads(invoke_cli(env, *args, "--json").stdout)


@contextmanager
def _as_a_new_process(argv: list[str]) -> Iterator[None]:
    """argv, cwd, the CLI's consoles, root logging and warning filters as a fresh
    `python -m vitrieve` has them (streams and environment are the runner's isolation)."""
    from vitrieve.ui.cli import common

    consoles = [(console, dict(console.__dict__)) for console in (common.out, common.err)]
    root = logging.getLogger()
    saved_logging = (root.handlers[:], root.level)
    saved_argv, saved_cwd, saved_env = sys.argv, os.getcwd(), dict(os.environ)
    try:
        sys.argv = argv
        os.chdir(REPO)
        root.handlers, root.level = [], logging.WARNING
        common.out.__init__()  # type: ignore[misc]
        common.err.__init__(stderr=True)  # type: ignore[misc]
        with warnings.catch_warnings():
            warnings.resetwarnings()
            for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning):
                warnings.simplefilter("ignore", category)
            warnings.simplefilter("ignore", ResourceWarning)
            warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
            warnings.showwarning = _show_on_stderr
            yield
    finally:
        for console, state in consoles:
            console.__dict__.clear()
            console.__dict__.update(state)
        root.handlers, root.level = saved_logging
        sys.argv = saved_argv
        os.chdir(saved_cwd)
        os.environ.clear()  # the CLI sets some (TRANSFORMERS_VERBOSITY) for its process only
        os.environ.update(saved_env)


@contextmanager
def _closing_what_it_opens() -> Iterator[None]:
    """Closes the libraries the command opened, as the end of its process would: their engines
    disposed, so SQLite checkpoints its WAL and removes -wal/-shm as after a real run (a
    read-only home later must look as a real command leaves it). Libraries the test itself
    holds are left alone."""
    from vitrieve.indexer.library import Library

    # `type(o) is`, not isinstance: that would wake lazy module attributes (torch warns)
    before = {id(o) for o in gc.get_objects() if type(o) is Library}
    try:
        yield
    finally:
        gc.collect()
        for library in [o for o in gc.get_objects() if type(o) is Library]:
            if id(library) not in before:
                library.close()


def _show_on_stderr(message, category, filename, lineno, file=None, line=None) -> None:
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def cli_invoker(env: dict[str, str], monkeypatch) -> Callable[..., Any]:
    """`vitrieve ARGS` in-process with ``env``'s VITRIEVE_* settings (stdout is not a
    terminal); each call asserts exit status 0 and returns typer's Result."""
    from typer.testing import CliRunner

    from vitrieve.ui.cli.main import app

    for key, value in env.items():
        if key.startswith("VITRIEVE_"):
            monkeypatch.setenv(key, value)
    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, (result.output, result.exception)
        return result

    return run
