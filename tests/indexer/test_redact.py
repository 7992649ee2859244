"""No password survives into a message: URLs, key=value strings, and known secrets."""

from __future__ import annotations

import pytest

from vitrieve.core.redact import hide_password, redact, url_password


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://me:s3cret@db:5432/photos", "postgresql://me:***@db:5432/photos"),
        ("postgresql+psycopg://me:p%40ss@db/photos", "postgresql+psycopg://me:***@db/photos"),
        ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
        ("redis://me:p@ss@cache/0", "redis://me:***@cache/0"),  # unencoded '@': cut at the last
        ("redis://cache:6379/0", "redis://cache:6379/0"),
        ("sqlite:////home/me/.vitrieve/catalog.db", "sqlite:////home/me/.vitrieve/catalog.db"),
    ],
)
def test_hide_password_masks_only_the_password(url, shown):
    assert hide_password(url) == shown


def test_redact_masks_urls_and_libpq_options_inside_any_text():
    text = (
        "cannot connect to postgresql://me:s3cret@db/x (host=db password=s3cret port=5432); "
        "see http://localhost:8501/status and /etc/passwd: File exists"
    )
    assert redact(text) == (
        "cannot connect to postgresql://me:***@db/x (host=db password=*** port=5432); "
        "see http://localhost:8501/status and /etc/passwd: File exists"
    )


def test_a_known_secret_is_masked_wherever_a_driver_puts_it():
    secret = url_password("postgresql://me:Tr0ub4dor@db/x")
    assert secret == "Tr0ub4dor"
    assert redact("auth failed for 'Tr0ub4dor'", (secret, None)) == "auth failed for '***'"
    assert url_password("sqlite:///x.db") is None and url_password(None) is None
