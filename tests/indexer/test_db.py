"""A catalog URL that cannot work fails with one line, and stays retryable for the workers."""

from __future__ import annotations

import pickle

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from vitrieve.core.db import CatalogUnreachableError, DatabaseURLError, make_engine
from vitrieve.core.errors import VitrieveError


def test_a_refused_connection_is_one_line_and_still_an_operational_error():
    engine = make_engine("postgresql://me:s3cret-pw@127.0.0.1:1/photos", setting="VITRIEVE_X")
    with pytest.raises(CatalogUnreachableError) as caught:
        engine.connect().close()
    exc = caught.value
    assert isinstance(exc, OperationalError) and isinstance(exc, VitrieveError)
    message = str(exc)
    assert message.startswith("VITRIEVE_X=postgresql://me:***@127.0.0.1:1/photos: cannot connect")
    assert "\n" not in message and "s3cret-pw" not in message
    assert str(pickle.loads(pickle.dumps(exc))) == message  # crosses a worker pool's pipe


def test_a_sqlite_file_that_cannot_be_opened_names_the_url(tmp_path):
    folder = tmp_path / "catalog.db"
    folder.mkdir()  # a directory where the database file should be
    engine = make_engine(f"sqlite:///{folder}", setting="VITRIEVE_DATABASE_URL")
    with pytest.raises(CatalogUnreachableError, match=r"cannot connect: unable to open"):
        engine.connect().close()


def test_errors_on_an_open_connection_pass_through(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    with engine.connect() as conn, pytest.raises(OperationalError) as caught:
        conn.execute(text("select * from no_such_table"))
    assert not isinstance(caught.value, DatabaseURLError)
