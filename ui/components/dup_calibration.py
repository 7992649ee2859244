"""The Duplicates page's threshold, shown rather than told: a strictness control in the sidebar
(strict / balanced / loose along the curve `vitrieve calibrate` measured, or a hand-set cosine
behind a disclosure) and a panel drawing the two measured distributions with the thresholds on
them. The data comes from ui/views/dup_calibration.py; this module only draws it.

Two calls wire it into a page: ``threshold = threshold_control(lib)`` where the page needs its
threshold, and ``distribution_panel(lib, threshold)`` where the plot goes.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from vitrieve.indexer.library import Library
from vitrieve.search.duplicates.curve import STRICTNESS, Calibration
from vitrieve.search.duplicates.find import DEFAULT_THRESHOLD
from vitrieve.search.duplicates.threshold import latest_calibration
from vitrieve.ui.views.dup_calibration import (
    HOW_TO_CALIBRATE,
    NEGATIVES,
    Distributions,
    distributions,
    pct,
    slider_range,
    strictness_table,
    threshold_rules,
    why,
)

STRICTNESS_KEY = "dup_strictness"
THRESHOLD_KEY = "dup_threshold"  # the cosine the page groups at (the expert slider's value)
SOURCE_KEY = "dup_threshold_from"  # the calibration the slider was last set from


def _identity(cal: Calibration | None) -> tuple | None:
    return None if cal is None else (cal.created_at, tuple(sorted(cal.thresholds.items())))


def _strictness_moved(cal: Calibration | None) -> None:
    """A strictness chosen moves the threshold to its calibrated point (a hand-set one is left)."""
    if cal is not None:
        st.session_state[THRESHOLD_KEY] = cal.thresholds[st.session_state[STRICTNESS_KEY]]


def threshold_control(lib: Library) -> float:
    """Draws the sidebar control and returns the threshold the page groups at."""
    cal = latest_calibration(lib)
    strictness = st.session_state.get(STRICTNESS_KEY, "balanced")
    low, high = slider_range(cal)
    if THRESHOLD_KEY not in st.session_state or st.session_state.get(SOURCE_KEY) != _identity(cal):
        # first visit, or a calibration stored since: start from its point
        st.session_state[THRESHOLD_KEY] = (
            DEFAULT_THRESHOLD if cal is None else cal.thresholds[strictness]
        )
        st.session_state[SOURCE_KEY] = _identity(cal)
    st.session_state[THRESHOLD_KEY] = min(high, max(low, float(st.session_state[THRESHOLD_KEY])))
    side = st.sidebar
    side.subheader("Duplicate threshold")
    side.radio(
        "Strictness",
        STRICTNESS,
        index=STRICTNESS.index("balanced"),
        key=STRICTNESS_KEY,
        horizontal=True,
        disabled=cal is None,
        on_change=_strictness_moved,
        args=(cal,),
        help="Where on the similarity curve measured on your photos copies are grouped: "
        "strict lets almost no unrelated photo in, loose catches more edited copies.",
    )
    with side.expander("Custom threshold (experts)"):
        threshold = st.slider(
            "Similarity threshold",
            low,
            high,
            step=0.0001,
            format="%.4f",
            key=THRESHOLD_KEY,
            help="A cosine of your own; choosing a strictness again puts it back on the curve.",
        )
    side.caption(why(cal, float(threshold), st.session_state.get(STRICTNESS_KEY, "balanced")))
    return float(threshold)


def distribution_panel(lib: Library, threshold: float) -> None:
    """The measured distributions with the thresholds drawn on them, and what each would do."""
    cal = latest_calibration(lib)
    title = "How similar copies and unrelated photos are here"
    with st.container(key="dup-calibration"), st.expander(title, expanded=cal is not None):
        if cal is None:
            st.caption(HOW_TO_CALIBRATE)
            return
        data = distributions(cal)
        st.altair_chart(_chart(cal, data, threshold), width="stretch")
        below = [f"{pct(v)} of {k}" for k, v in data.below.items() if v >= 0.0005]
        st.caption(
            f"Measured on {cal.sample_size} of your photos (seed {cal.seed}): lines are the "
            "similarity of each photo to an edited copy of itself, by edit; the grey area "
            "is each photo's most similar unrelated photo. Dashed lines: the strict, "
            "balanced and loose thresholds; the thick line is the one in force."
            + (f" Below {data.low:.2f}, left of the plot: {', '.join(below)}." if below else "")
        )
        st.dataframe(pd.DataFrame(strictness_table(cal, threshold)), hide_index=True)
        if (met := cal.levels_met()) is not None:
            st.caption(met[0].upper() + met[1:] + ".")


def _chart(cal: Calibration, data: Distributions, threshold: float) -> alt.LayerChart:
    df = pd.DataFrame(data.rows)
    last = df.sort_values("start").groupby("series", sort=False).tail(1).assign(start=1.0)
    df = pd.concat([df, last])  # a step plot ends where its last bin does
    x = alt.X(
        "start:Q",
        title="similarity (cosine)",
        scale=alt.Scale(domain=[data.low, 1.0], nice=False),
    )
    y = alt.Y("share:Q", title="share per bin", axis=alt.Axis(format="%"))
    colour = alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom", columns=4))
    tip = ["series:N", alt.Tooltip("start:Q", format=".4f"), alt.Tooltip("share:Q", format=".1%")]
    lines = (
        alt.Chart(df[df.series != NEGATIVES])
        .mark_line(interpolate="step-after")
        .encode(x, y, colour, tooltip=tip)
    )
    unrelated = (
        alt.Chart(df[df.series == NEGATIVES])
        .mark_area(interpolate="step-after", opacity=0.3, color="grey")
        .encode(x, y, tooltip=tip)
    )
    rules = pd.DataFrame(threshold_rules(cal, threshold))
    strict = rules[rules.label != "in force"]
    dashed = (
        alt.Chart(strict)
        .mark_rule(strokeDash=[4, 3], color="grey")
        .encode(x="similarity:Q", tooltip=["label:N", alt.Tooltip("similarity:Q", format=".4f")])
    )
    labels = [  # one text per rule, stepped down: close thresholds would overprint
        alt.Chart(strict.iloc[[i]])
        .mark_text(align="left", dx=3, fontSize=11)
        .encode(x="similarity:Q", y=alt.value(10 + 13 * i), text="label:N")
        for i in range(len(strict))
    ]
    in_force = (
        alt.Chart(rules[rules.label == "in force"])
        .mark_rule(color="black", strokeWidth=3)
        .encode(x="similarity:Q", tooltip=["label:N", alt.Tooltip("similarity:Q", format=".4f")])
    )
    return alt.LayerChart(layer=[unrelated, lines, dashed, *labels, in_force], height=300)
