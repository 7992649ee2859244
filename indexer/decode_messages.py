"""What Pillow and libtiff say while one image decodes, kept with that image.

Pillow reports damage it works around as Python warnings ('Corrupt EXIF data', 'Invalid
APNG'), and libtiff prints its errors from C straight to stderr ('TIFFFillStrip: Read error').
On a terminal that is tens of KB of noise over the progress bar, naming no file. Here each
message goes to the file that caused it: into its failure reason if it failed, else into a log
line (INFO) that names it.

Decoding runs in a thread pool, so capture is per thread and nothing global changes per
decode: `warnings.catch_warnings()` swaps process-wide filters and hooks (one thread's exit
undoes another's), and redirecting fd 2 would swallow whatever other threads print meanwhile
(the progress bar, vitrieve's own error lines). Instead, three hooks are installed once at
import; each hands a message to the capture open in the thread that produced it, and passes it
on untouched when that thread is not decoding:

- ``warnings._showwarnmsg``, the function the interpreter calls for every warning it shows.
  `catch_warnings` saves and restores ``showwarning`` and the filters, never this, so a test's
  or a library's own catch_warnings does not unhook it. An "always" filter for Pillow's
  modules (appended: explicit filters such as ``-W error`` still win) lets a warning repeated
  by many files reach each of them, not only the first; a catch_warnings block that was open
  when it was added drops it on exit, so each capture puts it back if it is missing.
- tifffile's logger (the fallback reader of TIFFs), through a filter that takes a record
  away when a capture is open in its thread.
- libtiff's process-wide error and warning handlers, set through ctypes on the libtiff that
  Pillow's extension module is linked against (its own bundled copy in the wheels). They run
  in the decoding thread, so the thread-local capture applies to them as well.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import re
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from PIL import Image

log = logging.getLogger(__name__)

KEPT = 20
"""Distinct messages kept per decode; libtiff can repeat one per strip, thousands of times."""

# Not notes about the file: deprecations concern code, not images.
_NOT_NOTES: tuple[type[Warning], ...] = (DeprecationWarning, PendingDeprecationWarning)

_local = threading.local()


class Notes:
    """The distinct messages of one decode, in order, plus how many more were dropped."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.dropped = 0

    def add(self, text: str) -> None:
        text = " ".join(text.split())  # a message may span lines; a reason is one line
        if not text or text in self.messages:
            return
        if len(self.messages) < KEPT:
            self.messages.append(text)
        else:
            self.dropped += 1

    def __bool__(self) -> bool:
        return bool(self.messages)

    def summary(self, shown: int = 3) -> str:
        """'a; b; c (and 4 more)': short enough for a failure reason."""
        rest = len(self.messages) - shown + self.dropped
        text = "; ".join(self.messages[:shown])
        return f"{text} (and {rest} more)" if rest > 0 else text


@contextmanager
def captured() -> Iterator[Notes]:
    """Collects what Pillow and libtiff say in this thread during the block (nestable)."""
    notes = Notes()
    if _ALWAYS_FOR_PILLOW not in warnings.filters:
        _add_always_filter()
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    stack.append(notes)
    try:
        yield notes
    finally:
        stack.pop()


def _deliver(text: str) -> bool:
    """Gives `text` to this thread's open capture; False when there is none."""
    stack = getattr(_local, "stack", None)
    if not stack:
        return False
    stack[-1].add(text)
    return True


# -- Python warnings ----------------------------------------------------------------------------

_show_elsewhere: Callable[[warnings.WarningMessage], None] | None = getattr(
    warnings, "_showwarnmsg", None
)


def _showwarnmsg(msg: warnings.WarningMessage) -> None:
    if issubclass(msg.category, Image.DecompressionBombWarning) and getattr(_local, "stack", None):
        return  # the decode in progress checks the pixel limit itself, and says more
    if issubclass(msg.category, _NOT_NOTES) or not _deliver(str(msg.message)):
        assert _show_elsewhere is not None  # this hook is installed only once it is set
        _show_elsewhere(msg)


def _install_warnings_hook() -> None:
    global _show_elsewhere
    current = getattr(warnings, "_showwarnmsg", None)
    if current is None:  # not CPython's warnings module: Pillow's warnings print as before
        log.debug("Python warnings are not captured: warnings._showwarnmsg is missing")
        return
    _show_elsewhere = getattr(current, "original", current)  # not our own (importlib.reload)
    _showwarnmsg.original = _show_elsewhere  # type: ignore[attr-defined]
    warnings._showwarnmsg = _showwarnmsg  # type: ignore[attr-defined]  # CPython private hook, not in typeshed
    _add_always_filter()


_PILLOW_MODULES = r"(PIL|pillow_heif)(\.|$)"


def _add_always_filter() -> None:
    warnings.filterwarnings("always", module=_PILLOW_MODULES, append=True)


# The entry filterwarnings() makes, to find it in warnings.filters.
_ALWAYS_FOR_PILLOW = ("always", None, Warning, re.compile(_PILLOW_MODULES), 0)


# -- libtiff ------------------------------------------------------------------------------------

# void handler(const char *module, const char *fmt, va_list ap): on the ABIs CPython runs on,
# a va_list parameter travels as a pointer, which vsnprintf takes back unchanged.
_TIFF_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p)
_vsnprintf: Callable[..., int] | None = None


def _on_tiff_message(module: bytes | None, fmt: bytes | None, args: int | None) -> None:
    try:
        buf = ctypes.create_string_buffer(1024)
        assert _vsnprintf is not None  # libtiff calls here only after it was set
        _vsnprintf(buf, len(buf), fmt, args)
        text = buf.value.decode("utf-8", "replace")
        if module:
            text = f"{module.decode('utf-8', 'replace')}: {text}"
        if not _deliver(f"libtiff: {text}"):
            log.info("libtiff: %s", " ".join(text.split()))
    except Exception:  # an exception cannot cross back into C; a lost message is harmless
        pass


_tiff_handler = _TIFF_HANDLER(_on_tiff_message)  # kept alive: libtiff holds the pointer


def _install_libtiff_handlers() -> bool:
    """True when libtiff's messages now come here instead of stderr."""
    global _vsnprintf
    try:
        from PIL import Image

        # Image.core is Pillow's C extension; dlsym on its handle also searches the libraries
        # it was linked with, so this is the libtiff Pillow decodes with (bundled or system).
        libtiff = ctypes.CDLL(Image.core.__file__)
        set_handlers = (libtiff.TIFFSetErrorHandler, libtiff.TIFFSetWarningHandler)
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
        vsnprintf = libc.vsnprintf
    except (OSError, AttributeError, ImportError):
        log.debug("libtiff messages are not captured: its handlers cannot be reached")
        return False
    vsnprintf.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p]
    vsnprintf.restype = ctypes.c_int
    _vsnprintf = vsnprintf
    for set_handler in set_handlers:
        set_handler.argtypes = [_TIFF_HANDLER]
        set_handler.restype = ctypes.c_void_p
        set_handler(_tiff_handler)
    return True


# -- tifffile ----------------------------------------------------------------------------------


class _TifffileNotes(logging.Filter):
    """tifffile (the second TIFF reader, indexer.tiff_fallback) logs what it works around as
    WARNING records of its 'tifffile' logger; in a decoding thread they become notes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _deliver(f"tifffile: {record.getMessage()}")


_install_warnings_hook()
LIBTIFF_CAPTURED = _install_libtiff_handlers()
logging.getLogger("tifffile").addFilter(_TifffileNotes())
