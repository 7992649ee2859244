"""Errors a user can act on. The CLI prints their message as one line, with no traceback."""


class VitrieveError(Exception):
    """Base for every error whose message is meant for the user as it stands."""


class ModelUnavailableError(VitrieveError):
    pass


class NotIndexedError(VitrieveError):
    pass
