"""Charts of a probe's cross-validated metrics (Altair, bundled with Streamlit)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st


def confusion_matrix(metrics: dict) -> None:
    """Single-label: true x predicted counts. Multi-label: one 2x2 (no/yes) block per label."""
    cm = metrics.get("confusion_matrix") or {}
    labels = cm.get("labels") or []
    if "matrix" in cm:
        rows = [
            {"true": t, "predicted": p, "images": n}
            for t, row in zip(labels, cm["matrix"], strict=True)
            for p, n in zip(labels, row, strict=True)
        ]
        _heatmap(pd.DataFrame(rows), labels, labels, title="Confusion matrix (out-of-fold)")
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
        _heatmap(
            pd.DataFrame(rows), order, ["no", "yes"], title="Per-label confusion (out-of-fold)"
        )
    else:
        st.caption("No confusion matrix stored with this probe.")


def _heatmap(df: pd.DataFrame, y_order: list[str], x_order: list[str], *, title: str) -> None:
    side = 48  # pixels per cell
    base = alt.Chart(df, title=title).properties(
        width=max(120, side * len(x_order)), height=max(120, side * len(y_order))
    )
    base = base.encode(
        x=alt.X("predicted:N", sort=x_order, title="predicted", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("true:N", sort=y_order, title="true"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("images:Q", scale=alt.Scale(scheme="blues"), legend=None),
        tooltip=["true", "predicted", "images"],
    )
    text = base.mark_text(fontSize=14).encode(
        text="images:Q",
        color=alt.condition(
            alt.datum.images > df["images"].max() / 2, alt.value("white"), alt.value("black")
        ),
    )
    st.altair_chart(cells + text, width="content")
