"""Every failure of `vitrieve` is ONE line on stderr that names the file or setting at fault.

The real entry point in-process (tests/support/cli.py), hostile arguments. Exit 1 for errors,
2 for usage errors; never a traceback, never a password (every URL here carries one: SECRET).
"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from tests.support import cli_env, invoke_cli, invoke_cli_json, noise_image

SECRET = "hunter2-Sup3r"
HUGE = str(2**70)


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    """One home for the module: no test here changes the catalog (each one fails, or reads)."""
    return cli_env(tmp_path_factory.mktemp("errors") / "home")


def one_error_line(proc, code: int = 1) -> str:
    """The single stderr line of a failed command, after checking everything about it."""
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in proc.stderr
    assert SECRET not in proc.stderr + proc.stdout
    return lines[0]


@pytest.fixture(scope="module")
def library(env, tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    for i in range(3):
        noise_image(i).save(root / f"n{i}.jpg", quality=90)
    (root / "notes.txt").write_text("not a picture")
    invoke_cli(env, "ingest", str(root))
    return root


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("VITRIEVE_BATCH_SIZE", "-3", "VITRIEVE_BATCH_SIZE=-3: must be >= 0"),
        ("VITRIEVE_DEVICE", "gpu", "VITRIEVE_DEVICE=gpu: must be one of 'auto', 'cpu' or 'cuda'"),
        ("VITRIEVE_OFFLINE", "maybe", "VITRIEVE_OFFLINE=maybe: must be true or false"),
        ("VITRIEVE_FLAT_MAX", "lots", "VITRIEVE_FLAT_MAX=lots: must be a whole number"),
        ("VITRIEVE_INDEX_RECALL_FLOOR", "2", "VITRIEVE_INDEX_RECALL_FLOOR=2: must be <= 1"),
    ],
)
def test_an_invalid_setting_names_the_variable_and_the_rule(env, variable, value, says):
    line = one_error_line(invoke_cli(env | {variable: value}, "status", code=None))
    assert line == f"error: {says}" or line.startswith(f"error: {says} ")


def test_two_invalid_settings_are_still_one_line(env):
    proc = invoke_cli(
        env | {"VITRIEVE_BATCH_SIZE": "-3", "VITRIEVE_DEVICE": "tpu"}, "status", code=None
    )
    line = one_error_line(proc)
    assert "VITRIEVE_BATCH_SIZE=-3" in line and "VITRIEVE_DEVICE=tpu" in line


def test_a_home_that_is_a_file_names_vitrieve_home(env, tmp_path):
    (tmp_path / "file").write_text("x")
    line = one_error_line(
        invoke_cli(env | {"VITRIEVE_HOME": str(tmp_path / "file")}, "status", code=None)
    )
    assert f"VITRIEVE_HOME={tmp_path / 'file'}" in line and "not a directory" in line


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (f"foo://user:{SECRET}@host/db", "unsupported database 'foo'"),
        (f"mysql://user:{SECRET}@host/db", "unsupported database 'mysql'"),
        (f"postgresql+psycopg2://user:{SECRET}@host/db", "driver 'postgresql+psycopg2'"),
        (f"postgresql://user:{SECRET}@127.0.0.1:1/db", "cannot connect"),
        (f"not a url {SECRET}", "VITRIEVE_DATABASE_URL: not a database URL"),
    ],
)
def test_a_bad_database_url_is_one_line_with_the_password_masked(env, url, says):
    line = one_error_line(invoke_cli(env | {"VITRIEVE_DATABASE_URL": url}, "status", code=None))
    assert line.startswith("error: VITRIEVE_DATABASE_URL") and says in line


@pytest.mark.postgres
def test_an_unknown_database_on_a_real_server_is_one_line_with_the_password_masked(
    env, postgres_url
):
    url = make_url(postgres_url).set(database="vitrieve_no_such_db", password=SECRET)
    line = one_error_line(
        invoke_cli(
            env | {"VITRIEVE_DATABASE_URL": url.render_as_string(hide_password=False)},
            "status",
            code=None,
        )
    )
    assert "VITRIEVE_DATABASE_URL=" in line and ":***@" in line
    assert "cannot connect" in line and "vitrieve_no_such_db" in line


def test_a_broker_that_cannot_be_reached_is_named_without_its_password(env, library):
    broker = {"VITRIEVE_BROKER_URL": f"redis://:{SECRET}@127.0.0.1:1/0"}
    line = one_error_line(
        invoke_cli(env | broker, "ingest", str(library), "--background", code=None)
    )
    assert "cannot reach the broker at redis://:***@127.0.0.1:1/0" in line


def test_a_query_file_that_never_existed_is_no_such_file(env, library):
    line = one_error_line(invoke_cli(env, "search", str(library / "nope.jpg"), code=None))
    assert line == f"error: {library / 'nope.jpg'}: no such file"


def test_a_folder_filter_outside_every_root_is_an_error(env, library, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()  # tmp_path is this test's, the root is the module's: they do not overlap
    query = str(library / "n0.jpg")
    proc = invoke_cli(env, "search", query, "--folder", str(elsewhere), code=None)
    assert f"folder {elsewhere}: not inside any registered root" in one_error_line(proc)
    # ... while a folder inside a root, or one holding a root, filters as before
    inside = invoke_cli_json(env, "search", str(library / "n0.jpg"), "--folder", str(library))
    around = invoke_cli_json(
        env, "search", str(library / "n0.jpg"), "--folder", str(library.parent)
    )
    assert len(inside) == len(around) == 2


def test_a_file_as_folder_filter_is_an_error(env, library):
    proc = invoke_cli(
        env, "search", str(library / "n0.jpg"), "--folder", str(library / "n1.jpg"), code=None
    )
    assert one_error_line(proc) == f"error: folder {library / 'n1.jpg'}: not a directory"


@pytest.mark.parametrize(
    "args",
    [
        ("search", "--id", HUGE),
        ("search", "--id", "0"),
        ("tag", "show", "--id", HUGE),
        ("jobs", HUGE),
        ("jobs", "--limit", HUGE),
        ("dups", "keep", HUGE),
        ("dups", "ignore", "1", HUGE),
        ("search", "IMG", "-k", "0"),
        ("search", "IMG", "-k", "-5"),
        ("search",),
        ("dups", "--method", "bogus"),
        ("frobnicate",),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(env, library, args):
    args = tuple(str(library / "n0.jpg") if a == "IMG" else a for a in args)
    line = one_error_line(invoke_cli(env, *args, code=None), code=2)
    assert "--help`)" in line


def test_an_id_that_fits_but_does_not_exist_is_one_line(env, library):
    line = one_error_line(invoke_cli(env, "search", "--id", str(2**63 - 1), code=None))
    assert line == f"error: no image with id {2**63 - 1} in the catalog"
    line = one_error_line(invoke_cli(env, "roots", "remove", HUGE, code=None))
    assert f"{HUGE}: not a registered root" in line


def test_embed_of_a_non_image_prints_the_good_vectors_and_one_error_line(env, library):
    proc = invoke_cli(env, "embed", str(library / "n0.jpg"), str(library / "notes.txt"), code=None)
    line = one_error_line(proc)
    assert line == f"error: {library / 'notes.txt'}: not an image (unrecognised format)"
    assert proc.stdout.startswith(str(library / "n0.jpg"))
    missing = invoke_cli(env, "embed", str(library / "gone.jpg"), code=None)
    assert one_error_line(missing) == f"error: {library / 'gone.jpg'}: no such file"


def test_an_unknown_migration_revision_is_one_line(env):
    line = one_error_line(invoke_cli(env, "db", "upgrade", "no-such-revision", code=None))
    assert "catalog migrations" in line and "no-such-revision" in line


def test_a_command_group_without_a_command_still_shows_its_help(env):
    proc = invoke_cli(env, "db", code=None)
    assert proc.returncode == 2 and "upgrade" in proc.stdout + proc.stderr
