"""Streamlit runs a full garbage collection after every run, a duplicate-review decision
included; the `vitrieve ui` server freezes what imports made, so that collection skips it
(ui/gc_freeze.py). Each test runs in its own Python process: freezing is process-wide."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support import APP, REPO, TINY_VIT
from vitrieve.ui.client_address import UVICORN_TRUSTS_NOBODY

SERVER_PROCESS = """
import gc, json, sys
from vitrieve.ui import gc_freeze
out = {"before_server": gc_freeze.freeze_imports(), "frozen_before": gc.get_freeze_count()}
import vitrieve.ui.server  # what `vitrieve ui` serves: it turns freezing on
out["first"] = gc_freeze.freeze_imports()
out["server_module_skipped"] = not any(
    o is vitrieve.ui.server.serve_original for o in gc.get_objects()
)
out["again"] = gc_freeze.freeze_imports()  # nothing imported since
import latecomer
out["late_tracked_before"] = any(o is latecomer.marker for o in gc.get_objects())
out["late"] = gc_freeze.freeze_imports()
out["late_skipped"] = not any(o is latecomer.marker for o in gc.get_objects())
cycle = []  # garbage a run makes after the freeze is still collected
cycle.append(cycle)
del cycle
out["collected"] = gc.collect()
print(json.dumps(out))
"""

APP_RUN = """
import gc, json, sys
from streamlit.testing.v1 import AppTest
from vitrieve.ui import gc_freeze
gc_freeze.enable()  # as ui/server.py does
at = AppTest.from_file(sys.argv[1], default_timeout=120)
at.run()
print(json.dumps({"errors": [str(e.value) for e in at.exception],
                  "frozen": gc.get_freeze_count()}))
"""


def run_python(code: str, tmp_path: Path, *args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITRIEVE_")}
    env |= UVICORN_TRUSTS_NOBODY | {
        "PYTHONPATH": os.pathsep.join([str(REPO), str(tmp_path)]),
        "VITRIEVE_HOME": str(tmp_path / "home"),
        "VITRIEVE_MODEL": str(TINY_VIT),
        "VITRIEVE_PRECISION": "fp32",
        "VITRIEVE_RUNTIME": "torch",
        "VITRIEVE_AUTO_CALIBRATE": "false",
    }
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_server_freezes_imported_objects_and_freezes_again_only_after_imports(tmp_path):
    (tmp_path / "latecomer.py").write_text("def marker():\n    return 1\n")
    out = run_python(SERVER_PROCESS, tmp_path)
    assert out["before_server"] is False and out["frozen_before"] == 0  # off until the server
    assert out["first"] is True
    assert out["server_module_skipped"]  # a collection no longer walks what imports made
    assert out["again"] is False  # no new module: nothing to do, every run
    assert out["late_tracked_before"] and out["late"] is True and out["late_skipped"]
    assert out["collected"] >= 1  # what runs make afterwards is still collected


def test_a_run_of_the_app_freezes_what_its_pages_imported(tmp_path):
    out = run_python(APP_RUN, tmp_path, str(APP))
    assert out["errors"] == []
    assert out["frozen"] > 10_000  # Streamlit's, the page's and vitrieve's modules
