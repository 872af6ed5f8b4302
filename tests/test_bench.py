"""``python -m train bench``: the pure helpers and the all-skipped run.

No test here looks at a timing value: they depend on the machine.
"""
from __future__ import annotations

import argparse
import json
import os

import pytest

from train import bench


def parse(argv):
    p = argparse.ArgumentParser()
    p.add_argument("-v", "--verbose", action="store_true")
    bench.add_arguments(p)
    return p.parse_args(argv)


# ---------------------------------------------------------------- numbers

def test_median_ignores_missing_values():
    assert bench.median([3, 1, 2]) == 2
    assert bench.median([4, 1, 3, 2]) == 2.5
    assert bench.median([None, 5, None]) == 5
    assert bench.median([]) is None
    assert bench.median([None]) is None


def test_ratio_and_diff_are_none_safe():
    assert bench.ratio(3, 2) == 1.5
    assert bench.ratio(None, 2) is None
    assert bench.ratio(1, None) is None
    assert bench.ratio(1, 0) is None
    assert bench.diff(3.0, 1.0) == 2.0
    assert bench.diff(None, 1.0) is None


def test_fmt():
    assert bench.fmt(None) == "—"
    assert bench.fmt(1.23456, 2) == "1.23"
    assert bench.fmt(12.0, 1, "MB") == "12.0 MB"
    assert bench.fmt(41.4, 0, "%") == "41 %"


@pytest.mark.parametrize("value,op,target,expected", [
    (0.9, "<=", 1.0, True), (1.0, "<=", 1.0, True), (1.01, "<=", 1.0, False),
    (250, ">=", 200, True), (199, ">=", 200, False), (None, "<=", 1.0, None)])
def test_passes(value, op, target, expected):
    assert bench.passes(value, op, target) is expected


def test_passes_rejects_unknown_comparison():
    with pytest.raises(ValueError):
        bench.passes(1.0, "<", 2.0)


def test_mark():
    assert bench.mark(True) == "PASS"
    assert bench.mark(False) == "FAIL"
    assert bench.mark(None) == "—"


def test_check_judges_against_its_target():
    assert bench.Check("chunk_ratio", "x", 0.55).ok is True
    assert bench.Check("chunk_ratio", "x", 0.8).ok is False           # TFLite: <= 0.6
    assert bench.Check("chunk_ratio_numpy", "x", 0.8).ok is True      # numpy executor: <= 1.0
    assert bench.Check("chunk_ratio_numpy", "x", 1.2).ok is False
    assert bench.Check("features_x", "x", 250.0).ok is True
    assert bench.Check("features_x", "x", 150.0).ok is False
    assert bench.Check("fit_s", "x", None).ok is None


def test_every_target_belongs_to_a_section():
    keys = {key for key, _title, _fn in bench.SECTIONS}
    assert {t.section for t in bench.TARGETS} <= keys
    assert len({t.key for t in bench.TARGETS}) == len(bench.TARGETS)
    assert bench.target_text(bench.TARGET_BY_KEY["rss_mb"]) == "≤ 25 MB"
    assert bench.target_text(bench.TARGET_BY_KEY["features_x"]).startswith("≥ 200")


# ---------------------------------------------------------------- markdown

def test_md_table_escapes_pipes_and_pads_rows():
    text = bench.md_table(["a", "b|c"], [["1"], ["x|y", 2, "extra"]])
    lines = text.splitlines()
    assert lines[0] == "| a | b\\|c |"
    assert lines[1] == "|---|---|"
    assert lines[2] == "| 1 |  |"
    assert lines[3] == "| x\\|y | 2 |"


def test_summary_lists_skipped_targets_with_the_reason():
    per_chunk = bench.Section("per_chunk", "Per-chunk")
    per_chunk.check("chunk_ratio", "EZ, chunk 2048, litert", 1.5)
    per_chunk.check("chunk_ratio", "EZ, chunk 4096, litert", 0.5, summary=False)
    skipped = bench.Section("training", "Training", status="skipped", reason="--skip-training")
    rows = bench.summary_rows([per_chunk, skipped])
    by_measure = {}
    for row in rows:
        by_measure.setdefault(row[0], []).append(row)
    chunk_rows = by_measure[bench.TARGET_BY_KEY["chunk_ratio"].label]
    assert len(chunk_rows) == 1                      # the non-summary check stays in its section
    assert chunk_rows[0][1] == "EZ, chunk 2048, litert" and chunk_rows[0][-1] == "FAIL"
    fit_row = by_measure[bench.TARGET_BY_KEY["fit_s"].label][0]
    assert fit_row[2] == "skipped: --skip-training"
    # a target whose section is absent altogether is still listed
    assert by_measure[bench.TARGET_BY_KEY["pth_ms"].label][0][2] == "not measured"
    assert len(by_measure) == len(bench.TARGETS)


def test_render_markdown_has_command_sections_and_reasons():
    ok = bench.Section("features", "Feature extraction speed")
    ok.method.append("how it was measured")
    ok.table(["Song", "x"], [["a.mp3", "800"]], "caption here")
    ok.notes.append("a note")
    ok.notes.append("```\ncode line\n```")
    ok.check("features_x", "1 song", 800.0)
    skipped = bench.Section("pth", ".pth hook", status="skipped", reason="no .pth")
    failed = bench.Section("memory", "Memory", status="failed", reason="RuntimeError: boom")
    report = {"command": "python -m train bench --out x", "date": "today", "elapsed_s": 1.0,
              "machine": {"CPU": "test cpu", "numpy": "9.9"}}
    text = bench.render_markdown(report, [ok, skipped, failed])
    assert "```\npython -m train bench --out x\n```" in text
    assert "## 1. Feature extraction speed" in text
    assert "## 2. .pth hook" in text and "skipped: no .pth" in text
    assert "## 3. Memory" in text and "failed: RuntimeError: boom" in text
    assert "| CPU | test cpu |" in text
    assert "caption here" in text and "| a.mp3 | 800 |" in text
    assert "- a note" in text and "\n```\ncode line\n```\n" in text
    assert "\n\n\n" not in text


def test_parse_kv():
    out = bench.parse_kv("import_s=0.5\nstate=active\nnoise line\nchunks=12\n")
    assert out == {"import_s": 0.5, "state": "active", "chunks": 12.0}


# ---------------------------------------------------------------- environment

def _fake_checkout(root, ez):
    os.makedirs(os.path.join(root, "py"))
    with open(os.path.join(root, "py", "fft.py"), "w") as fh:
        fh.write("from rpi_audio_levels import AudioLevels\n" if ez else "import numpy\n")
    return str(root)


def test_fork_detection_and_checkout_resolution(tmp_path):
    ez = _fake_checkout(tmp_path / "ez", True)
    neo = _fake_checkout(tmp_path / "neo", False)
    assert bench.fork_of(ez) == "ez" and bench.fork_of(neo) == "neo"
    assert bench.fork_of(str(tmp_path)) is None
    got = bench.resolve_checkouts(None, None, env={"LIGHTSHOWPI_HOME": neo})
    assert got["neo"] == (os.path.abspath(neo), "") and got["ez"][0] is None
    assert "--lsp-ez" in got["ez"][1]
    got = bench.resolve_checkouts(None, None, env={"LIGHTSHOWPI_EZ": ez, "LIGHTSHOWPI_NEO": neo})
    assert got["ez"][0] == os.path.abspath(ez) and got["neo"][0] == os.path.abspath(neo)
    got = bench.resolve_checkouts(str(tmp_path / "nowhere"), None, env={})
    assert got["ez"][0] is None and "not a LightShowPi checkout" in got["ez"][1]


def test_command_line_rebuilt_from_args():
    args = parse(["--lsp-ez", "/x/ez", "--skip-training", "--chunks", "50", "--skip", "pth"])
    cmd = bench.command_line(args, argv=["pytest"])
    assert cmd.startswith("python -m train bench ")
    assert "--lsp-ez /x/ez" in cmd and "--skip-training" in cmd and "--chunks 50" in cmd
    assert "--skip pth" in cmd and "--verbose" not in cmd


# ---------------------------------------------------------------- the whole command

def test_run_with_nothing_available_reports_every_section_skipped(tmp_path, monkeypatch, capsys):
    for var in ("LIGHTSHOWPI_EZ", "LIGHTSHOWPI_NEO", "LIGHTSHOWPI_HOME",
                "LIGHTSHOWPI_HARNESS", "LIGHTSHOWPI_HARNESS_VENV"):
        monkeypatch.delenv(var, raising=False)
    empty = tmp_path / "music"
    empty.mkdir()
    out = tmp_path / "out"
    args = parse(["--lsp-ez", str(tmp_path / "no-ez"), "--lsp-neo", str(tmp_path / "no-neo"),
                  "--harness", str(tmp_path / "no-harness"),
                  "--harness-venv", str(tmp_path / "no-venv"),
                  "--model", str(tmp_path / "no-model.tflite"),
                  "--songs", str(empty), "--skip-training", "--skip", "pth",
                  "--out", str(out)])
    assert bench.run(args) == 0
    text = (out / "bench.md").read_text(encoding="utf-8")
    assert text == capsys.readouterr().out.rstrip("\n") + "\n"
    assert text.startswith("# lightshowpi-autoencoder benchmark")
    assert "python -m train bench" in text
    for i, (_key, title, _fn) in enumerate(bench.SECTIONS, 1):
        assert "## %d. %s" % (i, title) in text
    assert "skipped: --skip-training" in text
    assert "skipped: --skip pth" in text
    assert "is not a LightShowPi checkout" in text           # per-chunk, memory, start-up
    assert "no LightShowPi harness" in text                  # createcache
    assert "no songs in" in text                             # features
    data = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    statuses = {s["key"]: (s["status"], s["reason"]) for s in data["sections"]}
    assert set(statuses) == {key for key, _t, _f in bench.SECTIONS}
    assert all(status == "skipped" and reason for status, reason in statuses.values()), statuses
    assert {row["measure"] for row in data["summary"]} == {t.label for t in bench.TARGETS}
    assert all(row["result"] == "—" for row in data["summary"])
    for key in ("CPU", "OS", "numpy", "Git commit", "Date (UTC)", "Model"):
        assert key in data["machine"]


def test_pth_section_checks_the_hook_in_a_throwaway_venv(tmp_path):
    """Functional only: the hook registers its finder with SYNCHRONIZED_LIGHTS_HOME set and
    not otherwise (the timing values are not looked at)."""
    args = parse(["--lsp-ez", str(tmp_path / "none"), "--lsp-neo", str(tmp_path / "none"),
                  "--songs", str(tmp_path), "--out", str(tmp_path / "out"), "--pth-runs", "2"])
    cfg = bench.resolve(args)
    cfg.tmp = str(tmp_path)
    sec = bench.Section("pth", "hook")
    try:
        bench.section_pth(cfg, sec)
    except bench.Skip as exc:          # e.g. no venv module on this Python
        pytest.skip(str(exc))
    assert len(sec.checks) == 1 and sec.checks[0].target == "pth_ms"
    assert sec.tables and len(sec.tables[0]["rows"]) == 2
    assert any("lightshowpi_autoencoder.startup" in line for line in sec.data["importtime"]["set"])
    assert sec.data["importtime"]["unset"] == []
