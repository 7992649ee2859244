"""Two vitrieve commands on one catalog at once, as real processes started together, several
trials each, on SQLite and PostgreSQL: migrations run once, overlapping ingests neither fail
nor embed an image twice, and the catalog and the index file agree afterwards."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from tests.support import TINY_VIT, cli_env, index_file_ids, noise_image, run_cli, run_cli_together
from vitrieve.core import migrate
from vitrieve.core.config import Settings
from vitrieve.core.db import make_engine
from vitrieve.indexer.catalog import searchable_ids
from vitrieve.indexer.library import Library
from vitrieve.tables.catalog import Image, ImageStatus, Root

TRIALS = 3


def env_for(home: Path, database_url: str) -> dict[str, str]:
    return cli_env(home) | {"VITRIEVE_DATABASE_URL": database_url, "OMP_NUM_THREADS": "1"}


def folder_with_subfolder(folder: Path, n: int, seed: int) -> Path:
    """n small distinct photos, every other one in the sub-folder x/."""
    for i in range(n):
        sub = folder / "x" if i % 2 else folder
        sub.mkdir(parents=True, exist_ok=True)
        noise_image(seed * 1000 + i, (96, 72)).save(sub / f"img{i:03d}.jpg", quality=90)
    return folder


def no_raw_errors(results) -> None:
    for r in results:
        assert r.returncode == 0, r.stderr
        assert "Error" not in r.stderr and "already exists" not in r.stderr, r.stderr


def assert_catalog(home: Path, database_url: str, folder: Path, n: int) -> None:
    """One root holds the folder, each file has one row, all embedded, and the index file
    holds exactly the searchable set."""
    folder = folder.resolve()
    settings = Settings(home=home, database_url=database_url, model=str(TINY_VIT))
    with Library(settings) as lib:
        with lib.sessions() as session:
            roots = [Path(r) for r in session.scalars(select(Root.path))]
            assert [r for r in roots if r.is_relative_to(folder)] == [folder]  # x/ is no root
            rows = session.execute(
                select(Image.rel_path, Image.status).join(Root).where(Root.path == str(folder))
            ).all()
            want = searchable_ids(session, lib.model_row.id)
        assert len(rows) == len({p for p, _ in rows}) == n
        assert {ImageStatus(s) for _, s in rows} == {ImageStatus.EMBEDDED}
        assert (index_file_ids(lib) == want).all() and len(index_file_ids(lib)) == len(want)


def test_commands_started_together_on_a_new_catalog_migrate_it_once(database_url, tmp_path):
    engine = make_engine(database_url)
    for trial in range(TRIALS):
        env = env_for(tmp_path / f"home{trial}", database_url)
        if trial or engine.dialect.name != "sqlite":  # a new SQLite catalog is not there yet:
            assert migrate.current_revision(engine) is None  # connecting would make a file
        results = run_cli_together(
            env, ["status", "--json"], ["status", "--json"], ["roots", "list", "--json"]
        )
        no_raw_errors(results)
        assert migrate.is_current(engine)
        run_cli(env, "db", "downgrade", "base")  # empty again for the next trial
    engine.dispose()


def test_ingests_of_a_folder_and_its_subfolder_at_once_embed_each_image_once(
    database_url, tmp_path
):
    home = tmp_path / "home"
    env = env_for(home, database_url)
    for trial in range(TRIALS):
        photos = folder_with_subfolder(tmp_path / f"photos{trial}", 16, trial)
        results = run_cli_together(
            env, ["ingest", str(photos), "--json"], ["ingest", str(photos / "x"), "--json"]
        )
        no_raw_errors(results)
        embedded = [json.loads(r.stdout)["embedded"] for r in results]
        assert sum(embedded) == 16, embedded  # whichever went first, nothing twice
        assert_catalog(home, database_url, photos, 16)


def test_two_ingests_of_one_folder_at_once_embed_each_image_once(database_url, tmp_path):
    home = tmp_path / "home"
    env = env_for(home, database_url)
    for trial in range(TRIALS):
        photos = folder_with_subfolder(tmp_path / f"photos{trial}", 16, trial)
        results = run_cli_together(
            env, ["ingest", str(photos), "--json"], ["ingest", str(photos), "--json"]
        )
        no_raw_errors(results)
        summaries = [json.loads(r.stdout) for r in results]
        assert sorted(s["embedded"] for s in summaries) == [0, 16], summaries
        assert sorted(s["new"] for s in summaries) == [0, 16]  # the second waited, then
        assert sorted(s["unchanged"] for s in summaries) == [0, 16]  # found it all done
        assert_catalog(home, database_url, photos, 16)
    settings = Settings(home=home, database_url=database_url, model=str(TINY_VIT))
    with Library(settings) as lib, lib.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Root)) == TRIALS
