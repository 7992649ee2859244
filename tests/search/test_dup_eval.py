"""The evaluation harness: pair precision/recall/F1 against a ground truth, over thresholds."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from benchmarks.make_dup_set import VARIANTS, build_set, write_skimage_originals
from tests.support import chain_library, cli_env, clone_library, invoke_cli, invoke_cli_json
from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.ingest import ingest
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.centred import keeper_centred
from vitrieve.search.duplicates.curve import build_curve
from vitrieve.search.duplicates.evaluate import evaluate, load_truth, parse_thresholds, sweep
from vitrieve.search.duplicates.graph import Edges
from vitrieve.search.duplicates.groups import image_facts
from vitrieve.search.duplicates.threshold import UNCALIBRATED, latest_calibration
from vitrieve.tables.calibrations import DupCalibration


def test_sweep_reproduces_hand_computed_precision_and_recall():
    # Five images; truth: {1, 2, 3} and {4, 5}, so 4 true pairs: 12 13 23 45.
    ids = np.array([1, 2, 3, 4, 5])
    truth = np.array([0, 0, 0, 1, 1])
    edges = Edges(
        np.array([1, 2, 3, 4]),
        np.array([2, 3, 4, 5]),
        np.array([0.97, 0.85, 0.92, 0.95], dtype=np.float32),
    )
    rows = {r.threshold: r for r in sweep(ids, truth, edges, [0.80, 0.90, 0.95, 0.99])}
    # 0.80: one group of 5 -> 10 pairs predicted, all 4 true ones among them.
    assert (rows[0.80].true_positives, rows[0.80].false_positives) == (4, 6)
    assert (rows[0.80].precision, rows[0.80].recall, rows[0.80].f1) == (0.4, 1.0, 0.571429)
    # 0.90: {1,2} and {3,4,5} -> pairs 12 34 35 45; true: 12 45.
    assert (rows[0.90].precision, rows[0.90].recall, rows[0.90].f1) == (0.5, 0.5, 0.5)
    assert rows[0.90].false_negatives == 2
    # 0.95: {1,2} and {4,5}: both right, half the true pairs.
    assert (rows[0.95].precision, rows[0.95].recall, rows[0.95].f1) == (1.0, 0.5, 0.666667)
    # 0.99: nothing predicted.
    assert (rows[0.99].precision, rows[0.99].recall, rows[0.99].f1) == (0.0, 0.0, 0.0)


def test_keeper_centred_sweep_does_not_count_chained_pairs():
    # The same five images and edges, keepers by id: at 0.80 1 keeps 2 and 3 keeps 4 (2 is
    # taken), and 5 is near 4 only: pairs 12 and 34, where components predicted all 10.
    ids, truth = np.array([1, 2, 3, 4, 5]), np.array([0, 0, 0, 1, 1])
    edges = Edges(
        np.array([1, 2, 3, 4]),
        np.array([2, 3, 4, 5]),
        np.array([0.97, 0.85, 0.92, 0.95], dtype=np.float32),
    )
    by_id = lambda e: keeper_centred(e, lambda c: sorted(c.tolist()))  # noqa: E731
    rows = {r.threshold: r for r in sweep(ids, truth, edges, [0.80, 0.90], by_id)}
    assert (rows[0.80].true_positives, rows[0.80].false_positives) == (1, 1)
    assert (rows[0.80].precision, rows[0.80].recall) == (0.5, 0.25)
    # 0.90: 1-2, then 3 keeps 4 and 5 is near 4 only: the same two pairs.
    assert (rows[0.90].true_positives, rows[0.90].false_positives) == (1, 1)


def test_evaluate_scores_the_keeper_centred_groups_and_components_on_request(
    dup_template,
    tmp_path,
):
    lib, (a, b, c, d) = chain_library(dup_template, tmp_path)
    with lib.sessions() as session:
        facts = image_facts(session, [a, b, c, d])
    truth = tmp_path / "truth.csv"
    truth.write_text(
        f"{facts[a].path},ab\n{facts[b].path},ab\n{facts[c].path},cd\n{facts[d].path},cd\n"
    )
    with lib:
        keeper = evaluate(lib, truth, [0.9])
        chained = evaluate(lib, truth, [0.9], grouping="components")
    assert (keeper.grouping, chained.grouping) == ("keeper", "components")
    (k,), (cc,) = keeper.rows, chained.rows
    assert (k.true_positives, k.false_positives, k.precision, k.recall) == (2, 0, 1.0, 1.0)
    assert (cc.true_positives, cc.false_positives) == (2, 4)  # one group of 4: 6 pairs
    with pytest.raises(VitrieveError, match="grouping 'nope'"):
        evaluate(lib, truth, [0.9], grouping="nope")


def test_threshold_sweeps_parse_ranges_and_lists():
    assert parse_thresholds("0.80:0.83:0.01") == [0.8, 0.81, 0.82, 0.83]
    assert parse_thresholds("0.95,0.9") == [0.9, 0.95]
    for bad in ("0.9:0.8:0.01", "a,b", "0.5:0.6:0", "1.5"):
        with pytest.raises(VitrieveError):
            parse_thresholds(bad)


def test_truth_reads_csv_with_or_without_header_and_folder_per_group(tmp_path):
    (tmp_path / "a.jpg").touch()
    (tmp_path / "truth.csv").write_text("path,group\na.jpg,g1\n/abs/b.jpg, g1\n\nsub/c.png,g2\n")
    assert load_truth(tmp_path / "truth.csv") == {
        tmp_path / "a.jpg": "g1",
        Path("/abs/b.jpg"): "g1",
        tmp_path / "sub" / "c.png": "g2",
    }
    (tmp_path / "plain.csv").write_text("a.jpg,x\n")
    assert load_truth(tmp_path / "plain.csv") == {tmp_path / "a.jpg": "x"}
    (tmp_path / "bad.csv").write_text("path,group\na.jpg\n")
    with pytest.raises(VitrieveError, match=r"bad.csv:2: expected 'path,group'"):
        load_truth(tmp_path / "bad.csv")

    folder = tmp_path / "set"
    for rel in ("cat/1.jpg", "cat/deeper/2.png", "dog/3.jpg", "alone.jpg", "notes.txt"):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).touch()
    truth = load_truth(folder)
    assert {p.relative_to(folder).as_posix(): g for p, g in truth.items()} == {
        "cat/1.jpg": "cat",
        "cat/deeper/2.png": "cat",
        "dog/3.jpg": "dog",
        "alone.jpg": "file:alone.jpg",
    }


def test_evaluate_on_an_ingested_library(dup_template, tmp_path):
    photos, settings = clone_library(dup_template, tmp_path / "lib")
    groups = {
        "coffee": ["coffee.jpg", "backup/coffee.jpg", "coffee-crop.jpg"],
        "astronaut": ["astronaut.jpg", "misc/IMG_0001.jpg"],
        "chelsea": ["trip/chelsea.png", "chelsea-resaved.png", "archive/chelsea.tiff"],
        "rocket": ["trip/rocket.png", "rocket-q70.jpg"],
        "camera": ["trip/camera.png", "camera-half.png"],
        "ihc": ["immunohistochemistry.jpg"],
    }
    truth = tmp_path / "truth.csv"
    lines = [f"{photos / f},{g}" for g, files in groups.items() for f in files]
    truth.write_text("\n".join([*lines, f"{tmp_path / 'not-ingested.jpg'},x"]) + "\n")
    with Library(settings) as lib:
        report = evaluate(lib, truth, [0.94, 0.99])
    assert (report.images, report.true_pairs) == (13, 9)
    assert report.unmatched == [str(tmp_path / "not-ingested.jpg")]
    by = {r.threshold: r for r in report.rows}
    assert (by[0.99].precision, by[0.99].recall) == (1.0, 1.0)
    # At 0.94 the coffee and chelsea groups merge (0.947 apart): 15 + 3 pairs, 9 true.
    assert (by[0.94].true_positives, by[0.94].false_positives) == (9, 9)
    assert report.best.threshold == 0.99


def test_make_dup_set_writes_every_variant_and_a_truth_the_harness_reads(tmp_path, settings):
    originals = write_skimage_originals(tmp_path / "originals", names=("chelsea", "coffee"))
    rows = build_set(originals, tmp_path / "set", seed=1)
    assert len(rows) == 2 * (len(VARIANTS) + 1)
    assert {g for _, g in rows} == {"chelsea", "coffee"}
    images = tmp_path / "set" / "images"
    with PILImage.open(images / "chelsea" / "original.png") as original:
        size = original.size
        pixels = np.asarray(original.convert("RGB"))
    with PILImage.open(images / "chelsea" / "png.png") as im:
        assert np.array_equal(np.asarray(im.convert("RGB")), pixels)  # lossless
    with PILImage.open(images / "chelsea" / "flip.jpg") as im:
        flipped = np.asarray(im.convert("RGB"), dtype=np.int16)
        assert np.abs(flipped - pixels[:, ::-1]).mean() < 3  # mirrored (JPEG noise aside)
    with PILImage.open(images / "chelsea" / "resize_50.jpg") as im:
        assert im.size == (round(size[0] / 2), round(size[1] / 2))
    for crop, fraction in (("crop_10", 0.9), ("crop_20", 0.8)):
        with PILImage.open(images / "chelsea" / f"{crop}.jpg") as im:
            assert im.size == (round(size[0] * fraction), round(size[1] * fraction))
    with PILImage.open(images / "coffee" / "webp.webp") as im:
        assert im.format == "WEBP"

    single = settings.model_copy(update={"decode_workers": 1})  # see test_dup_find's template
    with Library(single) as lib:
        assert ingest(lib, [images]).embedded == len(rows)
        by_csv = evaluate(lib, tmp_path / "set" / "truth.csv", [0.9, 0.99])
        by_folder = evaluate(lib, images, [0.9, 0.99])
    assert by_csv.rows == by_folder.rows and by_csv.images == len(rows)
    assert by_csv.true_pairs == 2 * (17 * 16 // 2)
    assert by_csv.rows[-1].true_positives >= 2  # original.png = png.png: identical pixels


def _store_calibration(lib: Library, thresholds: dict[str, float]) -> None:
    """A calibration row as `vitrieve calibrate` stores it (its curve from made-up samples)."""
    rng = np.random.default_rng(0)
    positives = {"jpeg_q30": rng.uniform(0.95, 1.0, 50), "crop": rng.uniform(0.9, 1.0, 50)}
    negatives = rng.uniform(0.5, 0.97, 100)
    with lib.sessions.begin() as session:
        session.add(
            DupCalibration(
                model_id=lib.model_row.id,
                threshold=thresholds["balanced"],
                thresholds=thresholds,
                targets={"strict": 0.001, "balanced": 0.01, "loose": 0.05},
                sample_size=200,
                seed=0,
                negatives=100,
                excluded={},
                curve=build_curve(positives, negatives, list(thresholds.values())),
            )
        )


def test_eval_dups_scores_the_fixed_and_calibrated_thresholds_beside_the_given_ones(
    dup_template, tmp_path
):
    photos, settings = clone_library(dup_template, tmp_path / "lib")
    truth = tmp_path / "truth.csv"
    truth.write_text(
        f"{photos / 'trip/rocket.png'},rocket\n{photos / 'rocket-q70.jpg'},rocket\n"
        f"{photos / 'coffee.jpg'},coffee\n{photos / 'backup/coffee.jpg'},coffee\n"
        f"{photos / 'trip/camera.png'},camera\n"
    )
    env = cli_env(settings.home, settings.model)
    args = ("eval", "dups", "--truth", str(truth), "--thresholds", "0.5,0.99")
    before = invoke_cli_json(env, *args)
    assert before["calibration"] == UNCALIBRATED
    assert [(c["label"], c["threshold"]) for c in before["compared"]] == [("fixed", 0.9)]
    assert [r["threshold"] for r in before["rows"]] == [0.5, 0.99]  # the given ones, apart

    calibrated = {"strict": 0.9987, "balanced": 0.9912, "loose": 0.4}
    with Library(settings) as lib:
        _store_calibration(lib, calibrated)
        why = latest_calibration(lib).describe()
    report = invoke_cli_json(env, *args)
    assert report["calibration"] == why
    compared = {c["label"]: c for c in report["compared"]}
    assert list(compared) == [
        "fixed",
        "calibrated strict",
        "calibrated balanced",
        "calibrated loose",
    ]
    assert {k: compared[f"calibrated {k}"]["threshold"] for k in calibrated} == calibrated
    given = {r["threshold"]: r for r in report["rows"]}
    for label, same in (("fixed", None), ("calibrated loose", 0.5)):  # scored like a given one
        row = compared[label]
        assert 0 <= row["precision"] <= 1 and row["true_positives"] + row["false_negatives"] == 2
        if same is not None:  # 0.4 groups no more than 0.5 does on these five photos
            keys = ("precision", "recall", "true_positives", "false_positives")
            assert [row[k] for k in keys] == [given[same][k] for k in keys]
    assert compared["calibrated loose"]["false_positives"] > 0  # too loose: unrelated grouped
    table = invoke_cli(env, *args[:-2], "--thresholds", "0.99").stdout
    assert why in table and "0.9987" in table  # calibrated ones to their 4 decimals
    for label in ("fixed", "calibrated strict", "calibrated balanced", "calibrated loose", "given"):
        assert re.search(rf"\b0\.\d+\s+\W?\s*{label}\b", table), (label, table)
