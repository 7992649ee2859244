"""Background ingestion commands: jobs, roots, worker, beat."""

from __future__ import annotations

import typer

roots_app = typer.Typer(help="Registered (and watched) folders.", no_args_is_help=True)
