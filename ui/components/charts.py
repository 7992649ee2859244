"""Charts of a tagger's (a probe's) cross-validated metrics (Altair, bundled with Streamlit).

The confusion matrix is read by people who never met the term: the axes say "your label" and
"tagged as", every cell shows its count, no label is cut short, and a caption says in words how
to read it and how many pictures it got right."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st


def confusion_matrix(metrics: dict) -> None:
    """Single-label: your label x tagged-as counts. Multi-label: one 2x2 (no/yes) block per
    label. Each under a caption in plain words."""
    cm = metrics.get("confusion_matrix") or {}
    labels = cm.get("labels") or []
    if "matrix" in cm:
        rows = [
            {"true": t, "predicted": p, "images": n}
            for t, row in zip(labels, cm["matrix"], strict=True)
            for p, n in zip(labels, row, strict=True)
        ]
        _heatmap(pd.DataFrame(rows), labels, labels, title="How it tagged your examples")
        right = sum(row[i] for i, row in enumerate(cm["matrix"]))
        total = sum(sum(row) for row in cm["matrix"])
        st.caption(
            f"Each row is a label you gave, each column the label the tagger chose for those "
            f"pictures, tested on pictures held back from its training. The diagonal is where "
            f"it was right: {right} of {total}."
        )
    elif "per_label" in cm:
        rows = [
            {
                "true": f"{label}: {'yes' if t else 'no'}",
                "predicted": "yes" if p else "no",
                "images": n,
            }
            for label, block in zip(labels, cm["per_label"], strict=True)
            for t, row in enumerate(block)
            for p, n in enumerate(row)
        ]
        order = [f"{label}: {v}" for label in labels for v in ("no", "yes")]
        _heatmap(pd.DataFrame(rows), order, ["no", "yes"], title="How it tagged your examples")
        st.caption(
            "For each label, the rows say whether you gave a picture that label (no/yes), the "
            "columns whether the tagger did, tested on pictures held back from its training."
        )
    else:
        st.caption("No confusion matrix stored with this tagger.")


def _heatmap(df: pd.DataFrame, y_order: list[str], x_order: list[str], *, title: str) -> None:
    side = 48  # pixels per cell
    base = alt.Chart(df, title=title).properties(
        width=max(120, side * len(x_order)), height=max(120, side * len(y_order))
    )
    base = base.encode(
        x=alt.X(
            "predicted:N",
            sort=x_order,
            title="tagged as",
            axis=alt.Axis(labelAngle=-30, labelLimit=0, orient="top"),
        ),
        y=alt.Y("true:N", sort=y_order, title="your label", axis=alt.Axis(labelLimit=0)),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("images:Q", scale=alt.Scale(scheme="blues"), legend=None),
        tooltip=[
            alt.Tooltip("true", title="your label"),
            alt.Tooltip("predicted", title="tagged as"),
            alt.Tooltip("images", title="pictures"),
        ],
    )
    text = base.mark_text(fontSize=14).encode(
        text="images:Q",
        color=alt.condition(
            alt.datum.images > df["images"].max() / 2, alt.value("white"), alt.value("black")
        ),
    )
    st.altair_chart(cells + text, width="content")
