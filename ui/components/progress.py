"""Ingest progress in the page: implements indexer.ingest.IngestProgress with st.progress."""

from __future__ import annotations

import time

import streamlit as st


class StreamlitIngestProgress:
    """Files scanned, then images embedded with rate and ETA, updated as the ingest runs."""

    def __init__(self) -> None:
        self._status = st.empty()
        self._bar = st.progress(0.0, text="scanning…")
        self._started: float | None = None

    def scanned(self, files: int) -> None:
        self._status.caption(f"scanned {files} files")

    def embedding(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self._started is None:
            self._started = now
        elapsed = now - self._started
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = f", about {(total - done) / rate:.0f} s left" if rate > 0 and done < total else ""
        text = f"processed {done} / {total} images ({rate:.1f} img/s{eta})"
        self._bar.progress(done / total if total else 1.0, text=text)
