"""Status page: catalog counts, model, index size and type, device, workers and queues."""

from __future__ import annotations

from tests.support import TINY_VIT, texts


def table(at, i: int) -> dict:
    frame = at.table[i].value
    return dict(zip(frame.index, frame.iloc[:, 0], strict=True))


def test_counts_model_index_and_device(catalog, open_page):
    at = open_page("status")
    assert not at.error, texts(at.error)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {
        "Images": "12",
        "Embedded": "10",
        "Pending": "0",
        "Failed": "2",
        "Missing": "0",
        "Roots": "1",
    }
    model = table(at, 0)
    assert model["model"] == str(TINY_VIT)
    assert model["dimensions"] == "32" and model["vectors in the index"] == "10"
    assert model["index type"] == "flat"  # exact search at this size
    compute = table(at, 1)
    assert compute["device"] == "cpu" and compute["model"] == "not loaded yet"
    assert "No broker configured (VITRIEVE_BROKER_URL): ingestion runs in-process." in texts(
        at.caption
    )


def test_a_missing_model_is_reported_not_raised(catalog, open_page, monkeypatch, tmp_path):
    monkeypatch.setenv("VITRIEVE_MODEL", "nobody/no-such-model")
    monkeypatch.setenv("VITRIEVE_OFFLINE", "true")
    monkeypatch.setenv("VITRIEVE_HUB_CACHE", str(tmp_path / "hubs"))
    at = open_page("status")
    assert any("VITRIEVE_MODEL" in e for e in texts(at.error)), texts(at.error)
    assert {m.label: m.value for m in at.metric}["Images"] == "12"


def test_an_unreachable_broker_is_reported(catalog, open_page, monkeypatch):
    monkeypatch.setenv("VITRIEVE_BROKER_URL", "redis://127.0.0.1:9/0")
    at = open_page("status")
    assert any(e.startswith("cannot reach the broker") for e in texts(at.error)), texts(at.error)
