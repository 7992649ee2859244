"""Keeps Streamlit's collection after every run cheap: it runs `gc.collect()` when a run (a
whole page, or only a fragment such as the duplicate review's decision) ends, and a full
collection walks every object the process tracks. Almost all of them (about 250,000: the
functions, classes and dicts of Streamlit, NumPy, FAISS, SQLAlchemy and the rest) come from
imports and live as long as the process, yet walking them took 300-600 ms on the 2-core box,
more than the rest of a decision (docs/BENCHMARKS.md, duplicate review by keyboard).

So after a run that imported modules, the survivors of one full collection are frozen
(`gc.freeze`): later collections skip them and only look at what runs have made since. Freezing
happens again only when more modules were imported, a few times in a server's life; whatever a
session held at that moment is freed as usual by its reference count, only reference cycles
among those few objects would stay. Only the `vitrieve ui` server turns this on (ui/server.py
calls `enable`); a process that runs the pages otherwise (the AppTest suites) never freezes.
"""

from __future__ import annotations

import gc
import sys
import threading

_lock = threading.Lock()
_enabled = False
_modules_when_frozen = 0


def enable() -> None:
    """Called once by the server at start: from now on `freeze_imports` freezes."""
    global _enabled
    _enabled = True


def freeze_imports() -> bool:
    """Collects and freezes once more modules are loaded than at the last freeze; True when it
    froze. Cheap otherwise (one length comparison), so it can run at the end of every run."""
    global _modules_when_frozen
    with _lock:
        loaded = len(sys.modules)
        if not _enabled or loaded <= _modules_when_frozen:
            return False
        gc.collect()
        gc.freeze()
        _modules_when_frozen = loaded
        return True
