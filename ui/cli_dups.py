"""`vitrieve dups ...` and `vitrieve eval dups`: near-duplicate review from the command line."""

from __future__ import annotations

import typer

app = typer.Typer(help="Find and clean up exact and near-duplicate images.")
eval_app = typer.Typer(
    help="Evaluate detection quality against ground truth.", no_args_is_help=True
)
