"""Commands that do not run the model never import torch, transformers or a hub client.

Why it matters: importing them costs seconds on every command (ModelScope's client imports
torch too). Each command runs as a real subprocess with stub `torch`, `transformers` and
`modelscope` packages first on PYTHONPATH: importing one raises ImportError and appends the
importing stack to a log, so an import that some `except ImportError` swallows still fails
the test. `ingest` of a folder with nothing new is among them. Both ways of naming the model
are covered: a local directory, and a hub id whose weights are in the hub cache (found from
the cache's layout, then from the memo in $VITRIEVE_HOME/cache).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support import TINY_VIT, cli_env, run_cli, write_photos
from vitrieve.core.config import Settings
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.indexer.model_source import weights_hash

BLOCKED = ("torch", "transformers", "modelscope")
STUB = """\
import os, traceback
with open(os.environ["STUB_IMPORT_LOG"], "a") as log:
    log.write(f"import of {__name__}:\\n" + "".join(traceback.format_stack()) + "\\n")
raise ImportError(f"{__name__} is blocked by tests/ui/test_cli_imports.py")
"""
HUB_ID = "google/vit-base-patch16-224-in21k"

COMMANDS = [
    ["status", "--json"],
    ["roots", "list"],
    ["jobs"],
    ["search", "--id", "1", "--json"],
    ["dups"],
    ["tag", "list"],
    ["tag", "show", "--id", "1"],
    ["index", "rebuild"],
    ["db", "upgrade"],
    ["ingest", "{photos}"],  # nothing new: the model never loads
    ["export", "--format", "jsonl", "--vectors"],
]


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    """Six real photos ingested with the tiny ViT (in this process, torch allowed)."""
    base = tmp_path_factory.mktemp("imports")
    photos = write_photos(base / "photos")
    settings = Settings(home=base / "home", model=str(TINY_VIT), precision="fp32", runtime="torch")
    with Library(settings) as lib:
        summary = ingest(lib, [photos])
    assert summary.embedded == 6
    stubs = base / "stubs"
    for name in BLOCKED:
        (stubs / name).mkdir(parents=True)
        (stubs / name / "__init__.py").write_text(STUB)
    cache = base / "hub-cache" / "huggingface" / f"models--{HUB_ID.replace('/', '--')}"
    shutil.copytree(TINY_VIT, cache / "snapshots" / "abc123")
    (cache / "refs").mkdir()
    (cache / "refs" / "main").write_text("abc123")
    return base


def blocked_env(base: Path, model: str) -> dict[str, str]:
    env = cli_env(base / "home", model)
    if model == HUB_ID:
        env["VITRIEVE_HUB_CACHE"] = str(base / "hub-cache")
    repo = Path(__file__).parents[2]
    env["PYTHONPATH"] = f"{base / 'stubs'}:{repo}"
    env["STUB_IMPORT_LOG"] = str(base / "imports.log")
    return env


@pytest.fixture(params=["local directory", "hub id in the cache"])
def env(request, library: Path) -> dict[str, str]:
    (library / "home" / "cache" / "model.json").unlink(missing_ok=True)  # resolve afresh
    (library / "imports.log").unlink(missing_ok=True)
    model = str(TINY_VIT) if request.param == "local directory" else HUB_ID
    return blocked_env(library, model)


def test_the_stubs_really_block(env):
    proc = run_cli(env, "embed", str(TINY_VIT / "config.json"), code=1)
    assert "blocked by tests/ui/test_cli_imports.py" in proc.stderr
    assert "import of torch" in Path(env["STUB_IMPORT_LOG"]).read_text()


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_command_runs_without_torch_or_transformers(env, args, library):
    run_cli(env, *[a.replace("{photos}", str(library / "photos")) for a in args])
    log = Path(env["STUB_IMPORT_LOG"])
    assert not log.exists(), log.read_text()


def test_status_and_search_by_id_name_the_model_without_loading_it(env, library):
    status = json.loads(run_cli(env, "status", "--json").stdout)
    assert status["model_hash"] == weights_hash(TINY_VIT)
    assert status["index_size"] == 6
    hits = json.loads(run_cli(env, "search", "--id", "1", "-k", "3", "--json").stdout)
    assert len(hits) == 3 and all(h["image_id"] != 1 for h in hits)
    assert not Path(env["STUB_IMPORT_LOG"]).exists()
