"""Status page: model, device, index size and type, catalog counts, workers and queues."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from vitrieve.ui.components import jobs
from vitrieve.ui.components.session import library, shown_errors
from vitrieve.ui.views.status import system_status

COUNTS = ("images", "embedded", "pending", "failed", "missing", "roots")


def _value(key: str, value) -> str:
    if key.endswith("_at") and isinstance(value, int | float):
        return datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M:%S")
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def main() -> None:
    st.title("Status")
    lib = library()
    with shown_errors():
        info = system_status(lib)
        cols = st.columns(len(COUNTS))
        for col, key in zip(cols, COUNTS, strict=True):
            col.metric(key.capitalize(), info.get(key, 0))
        st.subheader("Model and index")
        if info.get("model") is None:
            st.error(info.get("model_error") or "No model available.")
        else:
            st.table(
                {
                    "model": info["model"],
                    "weights hash": info["model_hash"][:16],
                    "dimensions": str(info["dim"]),
                    "vectors in the index": str(info["index_size"]),
                    "index type": info.get("index_type") or "unknown",
                    **{
                        k.replace("_", " "): _value(k, v)
                        for k, v in (info.get("index_params") or {}).items()
                        if v is not None
                    },
                    "index file": info["index_path"],
                }
            )
        st.subheader("Compute")
        device = info.get("device") or f"unavailable: {info.get('device_error')}"
        rows = {"device": device, "device setting": info["device_setting"]}
        if info.get("runtime"):  # the CPU runtime measured here (indexer/runtimes)
            rows["runtime"] = info["runtime"]
            for name, m in (info.get("runtime_measured") or {}).items():
                verdict = "kept" if m.get("kept") else (m.get("error") or "below the floor")
                speed = f"{m['img_s']} img/s, " if m.get("img_s") else ""
                cos = f"cos {m['min_cos']}, " if m.get("min_cos") is not None else ""
                rows[f"  {name}"] = f"{speed}{cos}{verdict}"
            if info.get("runtime_note"):
                rows["runtime note"] = info["runtime_note"]
        if info.get("model_loaded"):
            rows |= {"precision": info["precision"], "batch size": str(info["batch_size"])}
        else:
            rows |= {"precision setting": info["precision_setting"], "model": "not loaded yet"}
        st.table(rows)
        st.subheader("Storage")
        st.table({"data directory": info["home"], "catalog": info["database"]})
        jobs.workers_panel(lib)


main()
