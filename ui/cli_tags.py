"""`vitrieve tag ...`: train linear probes on the stored embeddings and tag the collection."""

from __future__ import annotations

import typer

app = typer.Typer(help="Auto-tagging with linear probes.", no_args_is_help=True)
