"""The bench's vocabulary (train/bench/common.py): numbers, targets, markdown.

No test here looks at a timing value: they depend on the machine.
"""
from __future__ import annotations


import pytest

from train.bench import command, common


def test_median_ignores_missing_values():
    assert common.median([3, 1, 2]) == 2
    assert common.median([4, 1, 3, 2]) == 2.5
    assert common.median([None, 5, None]) == 5
    assert common.median([]) is None
    assert common.median([None]) is None


def test_ratio_and_diff_are_none_safe():
    assert common.ratio(3, 2) == 1.5
    assert common.ratio(None, 2) is None
    assert common.ratio(1, None) is None
    assert common.ratio(1, 0) is None
    assert common.diff(3.0, 1.0) == 2.0
    assert common.diff(None, 1.0) is None


def test_fmt():
    assert common.fmt(None) == "—"
    assert common.fmt(1.23456, 2) == "1.23"
    assert common.fmt(12.0, 1, "MB") == "12.0 MB"
    assert common.fmt(41.4, 0, "%") == "41 %"


@pytest.mark.parametrize("value,op,target,expected", [
    (0.9, "<=", 1.0, True), (1.0, "<=", 1.0, True), (1.01, "<=", 1.0, False),
    (250, ">=", 200, True), (199, ">=", 200, False), (None, "<=", 1.0, None)])
def test_passes(value, op, target, expected):
    assert common.passes(value, op, target) is expected


def test_passes_rejects_unknown_comparison():
    with pytest.raises(ValueError):
        common.passes(1.0, "<", 2.0)


def test_mark():
    assert common.mark(True) == "PASS"
    assert common.mark(False) == "FAIL"
    assert common.mark(None) == "—"


def test_check_judges_against_its_target():
    assert common.Check("chunk_ratio", "x", 0.55).ok is True
    assert common.Check("chunk_ratio", "x", 0.8).ok is False           # TFLite: <= 0.6
    assert common.Check("chunk_ratio_numpy", "x", 0.8).ok is True      # numpy executor: <= 1.0
    assert common.Check("chunk_ratio_numpy", "x", 1.2).ok is False
    assert common.Check("features_x", "x", 250.0).ok is True
    assert common.Check("features_x", "x", 150.0).ok is False
    assert common.Check("fit_s", "x", None).ok is None


def test_every_target_belongs_to_a_section():
    keys = {key for key, _title, _fn in command.SECTIONS}
    assert {t.section for t in common.TARGETS} <= keys
    assert len({t.key for t in common.TARGETS}) == len(common.TARGETS)
    assert common.target_text(common.TARGET_BY_KEY["rss_mb"]) == "≤ 25 MB"
    assert common.target_text(common.TARGET_BY_KEY["features_x"]).startswith("≥ 200")


# ---------------------------------------------------------------- markdown

def test_md_table_escapes_pipes_and_pads_rows():
    text = common.md_table(["a", "b|c"], [["1"], ["x|y", 2, "extra"]])
    lines = text.splitlines()
    assert lines[0] == "| a | b\\|c |"
    assert lines[1] == "|---|---|"
    assert lines[2] == "| 1 |  |"
    assert lines[3] == "| x\\|y | 2 |"


def test_summary_lists_skipped_targets_with_the_reason():
    per_chunk = common.Section("per_chunk", "Per-chunk")
    per_chunk.check("chunk_ratio", "EZ, chunk 2048, litert", 1.5)
    per_chunk.check("chunk_ratio", "EZ, chunk 4096, litert", 0.5, summary=False)
    skipped = common.Section("training", "Training", status="skipped", reason="--skip-training")
    rows = common.summary_rows([per_chunk, skipped])
    by_measure = {}
    for row in rows:
        by_measure.setdefault(row[0], []).append(row)
    chunk_rows = by_measure[common.TARGET_BY_KEY["chunk_ratio"].label]
    assert len(chunk_rows) == 1                      # the non-summary check stays in its section
    assert chunk_rows[0][1] == "EZ, chunk 2048, litert" and chunk_rows[0][-1] == "FAIL"
    fit_row = by_measure[common.TARGET_BY_KEY["fit_s"].label][0]
    assert fit_row[2] == "skipped: --skip-training"
    # a target whose section is absent altogether is still listed
    assert by_measure[common.TARGET_BY_KEY["pth_ms"].label][0][2] == "not measured"
    assert len(by_measure) == len(common.TARGETS)


def test_render_markdown_has_command_sections_and_reasons():
    ok = common.Section("features", "Feature extraction speed")
    ok.method.append("how it was measured")
    ok.table(["Song", "x"], [["a.mp3", "800"]], "caption here")
    ok.notes.append("a note")
    ok.notes.append("```\ncode line\n```")
    ok.check("features_x", "1 song", 800.0)
    skipped = common.Section("pth", ".pth hook", status="skipped", reason="no .pth")
    failed = common.Section("memory", "Memory", status="failed", reason="RuntimeError: boom")
    report = {"command": "python -m train bench --out x", "date": "today", "elapsed_s": 1.0,
              "machine": {"CPU": "test cpu", "numpy": "9.9"}}
    text = common.render_markdown(report, [ok, skipped, failed])
    assert "```\npython -m train bench --out x\n```" in text
    assert "## 1. Feature extraction speed" in text
    assert "## 2. .pth hook" in text and "skipped: no .pth" in text
    assert "## 3. Memory" in text and "failed: RuntimeError: boom" in text
    assert "| CPU | test cpu |" in text
    assert "caption here" in text and "| a.mp3 | 800 |" in text
    assert "- a note" in text and "\n```\ncode line\n```\n" in text
    assert "\n\n\n" not in text
