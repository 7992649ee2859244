"""Running a command as a user that file modes apply to.

Root ignores modes, and CI runs the suite as root; a test of "permission denied" that simply
skipped under root would never run where it matters. So such a test runs its subject in a
child process that is an unprivileged user: as is when the suite is not root, and under root
through util-linux's `setpriv` as nobody:nogroup with no supplementary groups.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]


def need_setpriv() -> None:
    """Fails (never skips) a root run without setpriv: the test could prove nothing there."""
    if not shutil.which("setpriv"):
        pytest.fail("running as root without setpriv (util-linux): chmod cannot stop root")


def as_unprivileged(argv: list[str]) -> list[str]:
    """``argv`` as a command run by an unprivileged user (see the module docstring)."""
    if os.geteuid() != 0:
        return argv
    need_setpriv()
    return [*AS_NOBODY, *argv]


@contextmanager
def reachable_tmp() -> Iterator[Path]:
    """A fresh folder the unprivileged user can reach (pytest's tmp_path sits in root's 0700
    tree), removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="vitrieve-unprivileged-"))
    try:
        path.chmod(0o755)
        yield path
    finally:
        for sub in [path, *path.rglob("*")]:  # a test may leave a folder at mode 0
            if sub.is_dir() and not sub.is_symlink():
                sub.chmod(0o755)
        shutil.rmtree(path)
