"""Commands run in a mount namespace of their own (`unshare -rm`, or `-m` as root), where a test
can make a folder read-only or a disk full without touching the machine: the read-only photo
mount of the Docker stack and a full quarantine disk, as real mounts."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[2]
READ_ONLY = 'mount --bind "$RO" "$RO" && mount -o remount,ro,bind "$RO"'
FULL = 'mount -t tmpfs -o size=4k tmpfs "$FULL"'


@functools.cache
def unshare_command() -> list[str] | None:
    if shutil.which("unshare") is None:
        return None
    for command in (["unshare", "-rm"], ["unshare", "-m"]):
        probe = [*command, "sh", "-c", "mount -t tmpfs tmpfs /mnt || mount -t tmpfs tmpfs /tmp"]
        if subprocess.run(probe, capture_output=True).returncode == 0:
            return command
    return None


def in_namespace(
    setup: str, command: list[str], env: dict[str, str], *, after: str = ""
) -> subprocess.CompletedProcess:
    """`command` in a mount namespace prepared by the shell line `setup`; `after` runs there
    once it ends (a tmpfs vanishes with the namespace). Exit status: the command's."""
    unshare = unshare_command()
    if unshare is None:
        pytest.skip("no mount namespace available here (unshare -rm / unshare -m)")
    script = f'set -e; {setup}; set +e; "$@"; rc=$?; {after or ":"}; exit $rc'
    return subprocess.run(
        [*unshare, "sh", "-c", script, "sh", *command],
        env=env,
        cwd=_REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
