"""Keeping passwords out of everything vitrieve prints or logs.

Database and broker URLs carry credentials (`postgresql://user:secret@host/db`,
`redis://:secret@host/0`). Any message that names such a URL shows it through `hide_password`,
and `redact` is the last filter before an error reaches a terminal, a log or the UI, so even a
driver's own message that quotes a URL or a `password=` option cannot leak one.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

MASK = "***"

# scheme://[user]:PASSWORD@host...; the password runs to the last '@' before the host part.
_URL_CREDENTIALS = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s/:@]*:)[^\s/]*@")
# libpq-style key=value connection strings ("host=db password=secret").
_KEY_VALUE = re.compile(r"(?P<head>\b(?:password|passwd|pwd)\s*=\s*)('[^']*'|\"[^\"]*\"|\S+)", re.I)


def hide_password(url: str) -> str:
    """The URL with its password replaced by ***, for messages that must name a URL."""
    try:
        rendered = make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError, TypeError):
        rendered = url
    # Both: SQLAlchemy splits 'u:p@ss@host' at the first '@', redis-py at the last.
    return redact(rendered, (url_password(url),))


def url_password(url: str | None) -> str | None:
    """The password a URL carries, so a caller can scrub it from text it did not write."""
    if not url:
        return None
    try:
        password = make_url(url).password
    except (ArgumentError, ValueError, TypeError):
        return None
    return str(password) if password else None


def redact(text: str, secrets: tuple[str | None, ...] = ()) -> str:
    """`text` with URL passwords, `password=...` options and each of `secrets` masked."""
    text = _URL_CREDENTIALS.sub(lambda m: m["head"] + MASK + "@", text)
    text = _KEY_VALUE.sub(lambda m: m["head"] + MASK, text)
    for secret in secrets:
        if secret and len(secret) >= 3:  # masking "a" everywhere would garble every message
            text = text.replace(secret, MASK)
    return text
