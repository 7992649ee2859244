"""`vitrieve tag ...`: train linear probes on the stored embeddings and tag the collection."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer

from vitrieve.core.errors import MAX_ID, ModelUnavailableError, VitrieveError
from vitrieve.ui.cli.common import emit_json, err, open_library
from vitrieve.ui.cli.table import Col, Records
from vitrieve.ui.cli.text import count, say

app = typer.Typer(help="Auto-tagging with linear probes.", no_args_is_help=True)


def _status(message: str):
    """A spinner on stderr when it is a terminal; nothing (None) in scripts and tests."""
    return err.status(message) if err.is_terminal else nullcontext()


@app.command()
def train(
    name: Annotated[str, typer.Argument(help="Probe name; training it again adds a version.")],
    folders: Annotated[
        Path | None, typer.Option(help="Labels from sub-folder names: ROOT/cats/*.jpg -> cats.")
    ] = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Labels from a CSV of path,label rows.")
    ] = None,
    multilabel: Annotated[
        bool | None,
        typer.Option(
            "--multilabel/--single-label",
            help="Default: multi-label when some image has several labels.",
        ),
    ] = None,
    c: Annotated[
        float | None, typer.Option("--c", min=1e-6, help="Inverse regularisation strength.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Train a probe on labelled images (already ingested), report cross-validated metrics."""
    from vitrieve.search.tagging.train import train_from_csv, train_from_folders

    if (folders is None) == (csv_file is None):
        raise typer.BadParameter("give --folders ROOT or --csv FILE (one of them)")
    lib = open_library()
    options = {"C": c, "multilabel": multilabel}
    with _status("training (k-fold cross-validation, calibration)"):
        if folders is not None:
            result = train_from_folders(lib, name, folders, **options)
        else:
            assert csv_file is not None  # exactly one of the two, checked above
            result = train_from_csv(lib, name, csv_file, **options)
    if as_json:
        emit_json(result.to_dict())
        return
    m = result.metrics
    say(
        (f"{result.name} v{result.version}", "bold"),
        f": {count(m['images'], 'image')}, {count(len(result.classes), 'label')} ({m['mode']}), "
        f"{m['folds']}-fold cross-validation: "
        f"accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f}",
    )
    # Piped, one line per label: label, images, precision, recall, f1.
    table = Records(["label", *(Col(h, "right") for h in ("images", "precision", "recall", "f1"))])
    for label, row in m["per_class"].items():
        table.add(
            label,
            result.counts[label],
            f"{row['precision']:.3f}",
            f"{row['recall']:.3f}",
            f"{row['f1']:.3f}",
        )
    table.print()
    say(f"tag the collection with: vitrieve tag apply {result.name}")


@app.command()
def apply(
    name: Annotated[str, typer.Argument(help="Probe name (its newest version is used).")],
    batch_size: Annotated[int, typer.Option(min=1, help="Vectors per transaction.")] = 20_000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Tag every embedded image with a probe, replacing that probe's earlier tags."""
    from vitrieve.search.tagging.apply import apply_probe

    lib = open_library()
    with _status("tagging") as status:
        summary = apply_probe(
            lib,
            name,
            batch_size=batch_size,
            progress=lambda n: status and status.update(f"tagging: {count(n, 'image')}"),
        )
    if as_json:
        emit_json(summary.to_dict())
        return
    say(
        f"{summary.name} v{summary.version}: tagged {count(summary.images, 'image')} "
        f"({count(summary.tags, 'tag')} stored) in {summary.seconds:.1f}s"
    )


@app.command("list")
def list_probes(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    all_versions: Annotated[
        bool, typer.Option("--all", help="Every version, not the newest.")
    ] = False,
) -> None:
    """Probes with their labels and cross-validated metrics."""
    from vitrieve.search.tagging.store import probe_listing

    lib = open_library()
    with lib.sessions() as session:
        rows = probe_listing(session, all_versions=all_versions)
    try:
        current = lib.model_row.id
    except ModelUnavailableError:
        current = None  # still list them; which model they belong to is unknown
    probes: list[dict[str, Any]] = [
        {
            "name": r.name,
            "version": r.version,
            "active": r.active,
            "labels": list(r.classes),
            "multilabel": r.multilabel,
            "model": model,
            "current_model": r.model_id == current,
            "created_at": r.created_at,
            "metrics": r.metrics,
        }
        for r, model in rows
    ]
    if as_json:
        emit_json(probes)
        return
    if not probes:
        say("no probes yet: vitrieve tag train NAME --folders ROOT")
        return
    # Piped, one line per probe: name, version, labels, images, accuracy, macro-F1, active, model.
    table = Records(
        [
            "name",
            Col("version", "right"),
            Col("labels", fold=True),
            *(Col(h, "right") for h in ("images", "accuracy", "macro-F1")),
            "active",
            Col("model", fold=True),
        ]
    )
    for p in probes:
        m = p["metrics"]
        table.add(
            p["name"],
            p["version"],
            ", ".join(p["labels"]),
            m.get("images", ""),
            f"{m['accuracy']:.3f}",
            f"{m['macro_f1']:.3f}",
            "yes" if p["active"] else "no",
            "current" if p["current_model"] else f"other ({p['model']}): retrain",
        )
    table.print()


@app.command()
def show(
    image: Annotated[
        Path | None,
        typer.Argument(help="An image file in the catalog, or its catalog id (a number)."),
    ] = None,
    image_id: Annotated[
        int | None, typer.Option("--id", min=1, max=MAX_ID, help="Catalog id instead.")
    ] = None,
    min_score: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.5,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One image's tags: manual ones, and each probe's scores."""
    from vitrieve.indexer.catalog import describe_images, image_id_of_path
    from vitrieve.search.tagging.query import image_tags

    if (image is None) == (image_id is None):
        raise typer.BadParameter("give an IMAGE file or --id (one of them)")
    if image is not None and _catalog_id(image) is not None:
        image_id, image = _catalog_id(image), None  # `tag show 4`: a number, not a file here
    lib = open_library()
    with lib.sessions() as session:
        if image is not None:
            image_id = image_id_of_path(session, image)
            if image_id is None:
                raise VitrieveError(f"{image}: not in the catalog (run vitrieve ingest first)")
        assert image_id is not None  # given, or found for the file just above
        described = describe_images(session, [image_id])
        if image_id not in described:
            raise VitrieveError(f"no image with id {image_id} in the catalog")
        name = described[image_id].path
        tags = image_tags(session, image_id, min_score)
    if as_json:
        emit_json({"image_id": image_id, "tags": [t.to_dict() for t in tags]})
        return
    if not tags:
        say(name, " has no tags")
        return
    # Piped, one line per tag: label, score, source, counts.
    table = Records(["label", Col("score", "right"), "source", Col("counts", fold=True)])
    for t in tags:
        source = t.source if t.probe is None else f"{t.probe} v{t.probe_version}"
        counts = "yes" if t.effective else ("no: manual tags decide" if t.overridden else "no")
        table.add(t.label, f"{t.score:.3f}", source, counts)
    table.print()


def _catalog_id(image: Path) -> int | None:
    """``image`` as a catalog id when it is a plain number and no such file exists here."""
    text = str(image)
    if text.isascii() and text.isdigit() and not image.exists() and 0 < int(text) <= MAX_ID:
        return int(text)
    return None


@app.command()
def export(
    name: Annotated[str, typer.Argument(help="Probe name.")],
    csv_file: Annotated[Path, typer.Option("--csv", help="Where to write the CSV.")],
    min_score: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.5,
) -> None:
    """Write a probe's tags (path,label,score,source,probe_version) to a CSV file."""
    from vitrieve.search.tagging.export import export_tags

    rows = export_tags(open_library(), name, csv_file, min_score=min_score)
    say(f"wrote {count(rows, 'tag')} to {csv_file}")


def _set_active(name: str, active: bool) -> None:
    from vitrieve.search.tagging.store import set_active

    lib = open_library()
    with lib.sessions.begin() as session:
        row = set_active(session, name, active)
        version = row.version
    state = "auto-tags new images" if active else "no longer auto-tags new images"
    say(f"{name} v{version} {state}")


@app.command()
def enable(name: Annotated[str, typer.Argument()]) -> None:
    """Let a probe's newest version tag newly ingested images (the default after training)."""
    _set_active(name, True)


@app.command()
def disable(name: Annotated[str, typer.Argument()]) -> None:
    """Stop a probe from tagging newly ingested images (its tags stay)."""
    _set_active(name, False)


@app.command()
def delete(name: Annotated[str, typer.Argument()]) -> None:
    """Delete a probe (every version) and its tags; manual tags stay."""
    from vitrieve.search.tagging.store import delete_probe

    lib = open_library()
    with lib.sessions.begin() as session:
        versions = delete_probe(session, name)
    say(f"deleted {name} ({versions} version(s)) and its tags")
