"""The Duplicates page's threshold control before and after a calibration (AppTest): the fixed
0.90 and how to calibrate are said and the strictness is disabled until one is stored; then each
strictness groups at its calibrated threshold, and a custom value is said to be set by hand."""

from __future__ import annotations

from dataclasses import replace

from tests.support import synthetic_calibration, texts
from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.calibrate import store_calibration


def _store(settings, cal) -> None:
    with Library(settings) as lib:
        store_calibration(lib, replace(cal, model_id=lib.model_row.id))


def test_uncalibrated_then_calibrated_strictness_moves_the_threshold(
    dup_catalog, app_env, open_page
):
    at = open_page("duplicates")
    assert not at.exception, [e.value for e in at.exception]
    radio = at.sidebar.radio(key="dup_strictness")
    assert radio.disabled and at.slider(key="dup_threshold").value == 0.90
    assert any(
        "Uncalibrated: the fixed 0.90" in c and "`vitrieve calibrate`" in c
        for c in texts(at.sidebar.caption)
    )

    cal = synthetic_calibration({"jpeg_q30": (0.995, 1.0)}, negatives=(0.95, 0.99))
    _store(app_env, cal)
    at = open_page("duplicates")
    assert not at.sidebar.radio(key="dup_strictness").disabled
    assert at.slider(key="dup_threshold").value == cal.thresholds["balanced"]
    assert cal.describe("balanced") in texts(at.sidebar.caption)
    at.sidebar.radio(key="dup_strictness").set_value("loose").run()
    assert at.slider(key="dup_threshold").value == cal.thresholds["loose"]
    assert cal.describe("loose") in texts(at.sidebar.caption)
    assert len(at.get("vega_lite_chart")) == 1  # the distributions are drawn

    at.slider(key="dup_threshold").set_value(0.97).run()
    assert any(
        c.startswith("custom threshold 0.9700, set by hand") for c in texts(at.sidebar.caption)
    )
    at.sidebar.radio(key="dup_strictness").set_value("strict").run()
    assert at.slider(key="dup_threshold").value == cal.thresholds["strict"]
