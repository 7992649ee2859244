"""Errors a user can act on. The CLI prints their message as one line, with no traceback."""


class VitrieveError(Exception):
    """Base for every error whose message is meant for the user as it stands."""


class ModelUnavailableError(VitrieveError):
    pass


class NotIndexedError(VitrieveError):
    pass


#: The largest id a catalog row can have (SQL BIGINT, SQLite INTEGER). Ids from users are checked
#: against it, so `--id 99999999999999999999` says "no such image" instead of a driver's
#: OverflowError.
MAX_ID = 2**63 - 1
