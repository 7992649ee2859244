"""Several search results at once (ui/components/selection.py): ticked after *Select photos*,
kept across reruns, given a label as tag examples, listed as paths, cleared."""

from __future__ import annotations

from tests.support import jpeg_bytes, result_paths, texts


def test_ticked_results_become_tag_examples_and_their_paths_can_be_copied(catalog, open_page):
    at = open_page()
    at.file_uploader(key="upload").set_value(("cat.jpg", jpeg_bytes("chelsea"), "image/jpeg"))
    at.run()
    paths = result_paths(at)
    assert not [c for c in at.checkbox if c.key and c.key.startswith("sel-")]  # not yet
    at.toggle(key="select_mode").set_value(True).run()
    ticks = [c for c in at.checkbox if c.key and c.key.startswith("sel-")]
    assert len(ticks) == len(paths) == 10
    ticks[0].check().run()
    at.checkbox(key=ticks[2].key).check().run()  # the first tick survived that rerun
    assert "**2 selected**" in texts(at.markdown)
    assert at.checkbox(key=ticks[0].key).value and at.checkbox(key=ticks[2].key).value
    [listed] = [c.value for c in at.code]
    assert listed.splitlines() == [paths[0], paths[2]]

    at.text_input(key="select_label").set_value("cats")
    next(b for b in at.button if b.label == "Add as tag examples").click().run()
    assert not at.exception, [e.value for e in at.exception]
    chosen = [int(ticks[i].key.removeprefix("sel-")) for i in (0, 2)]
    assert at.session_state["tag_examples"] == {"cats": chosen}
    assert any("2 photos added to the examples of “cats”" in i for i in texts(at.info))
    assert not any(at.checkbox(key=t.key).value for t in ticks)  # the selection is cleared
    assert "**2 selected**" not in texts(at.markdown)
