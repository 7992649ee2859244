"""`vitrieve demo`: the whole flow on the tiny random model, in a library of its own."""

from __future__ import annotations

from pathlib import Path

from tests.support import cli_env, invoke_cli


def test_demo_ingests_and_searches_in_its_own_library_and_warns(tmp_path: Path, photos: Path):
    home = tmp_path / "home"
    env = cli_env(home, model="owner/not-downloaded")  # the real model is not needed
    env["COLUMNS"] = "400"  # table rows whole, one per line
    env["VITRIEVE_DATABASE_URL"] = f"sqlite:///{tmp_path / 'users-catalog.db'}"
    proc = invoke_cli(env, "demo", str(photos), "-k", "3")
    assert "demo library" in proc.stdout and "6 images embedded" in proc.stdout
    assert f"searching for images like {photos / 'astronaut.jpg'}" in proc.stdout
    rows = [line for line in proc.stdout.splitlines() if str(photos) in line and "│" in line]
    assert len(rows) == 3 and not any("astronaut.jpg" in r for r in rows)  # the query itself
    assert proc.stderr.count("similarity scores are") == 2 and "meaningless" in proc.stderr
    assert (home / "demo" / "catalog.db").is_file()
    assert not (tmp_path / "users-catalog.db").exists()  # the user's catalog is never touched


def test_demo_with_a_query_image_and_an_unchanged_second_run(tmp_path: Path, photos: Path):
    env = cli_env(tmp_path / "home")
    invoke_cli(env, "demo", str(photos), "-k", "2")
    proc = invoke_cli(env, "demo", str(photos), str(photos / "trip" / "chelsea.png"), "-k", "2")
    assert "0 images embedded, 6 unchanged" in proc.stdout
    assert "searching for images like" in proc.stdout and "chelsea.png" in proc.stdout


def test_demo_of_a_missing_folder_is_one_line(tmp_path: Path):
    proc = invoke_cli(cli_env(tmp_path / "home"), "demo", str(tmp_path / "nope"), code=1)
    assert proc.stderr.strip() == f"error: {tmp_path / 'nope'}: not a folder"


def test_demo_names_a_failed_file_and_how_to_open_the_demo_in_the_ui(tmp_path: Path, photos):
    (photos / "broken.jpg").write_bytes(b"not a picture at all")
    home = tmp_path / "home"
    proc = invoke_cli(cli_env(home), "demo", str(photos), "-k", "1")
    assert "1 failed" in proc.stdout
    assert f"failed {photos / 'broken.jpg'}: " in proc.stdout  # which file, not just a count
    hint = proc.stderr.strip().splitlines()[-1]
    assert hint.startswith("to browse the demo library in the web UI: ")
    assert f"VITRIEVE_HOME={home / 'demo'} " in hint and hint.endswith(" vitrieve ui")
