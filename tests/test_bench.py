"""``python -m train bench``: the pure helpers and the all-skipped run.

No test here looks at a timing value: they depend on the machine.
"""
from __future__ import annotations

import argparse
import json
import os

import pytest

from train.bench import command, common, env, fresh, pth


def parse(argv):
    p = argparse.ArgumentParser()
    p.add_argument("-v", "--verbose", action="store_true")
    command.add_arguments(p)
    return p.parse_args(argv)


# ---------------------------------------------------------------- numbers

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


def test_parse_kv():
    out = fresh.parse_kv("import_s=0.5\nstate=active\nnoise line\nchunks=12\n")
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
    assert env.fork_of(ez) == "ez" and env.fork_of(neo) == "neo"
    assert env.fork_of(str(tmp_path)) is None
    got = env.resolve_checkouts(None, None, env={"LIGHTSHOWPI_HOME": neo})
    assert got["neo"] == (os.path.abspath(neo), "") and got["ez"][0] is None
    assert "--lsp-ez" in got["ez"][1]
    got = env.resolve_checkouts(None, None, env={"LIGHTSHOWPI_EZ": ez, "LIGHTSHOWPI_NEO": neo})
    assert got["ez"][0] == os.path.abspath(ez) and got["neo"][0] == os.path.abspath(neo)
    got = env.resolve_checkouts(str(tmp_path / "nowhere"), None, env={})
    assert got["ez"][0] is None and "not a LightShowPi checkout" in got["ez"][1]


def test_command_line_rebuilt_from_args():
    args = parse(["--lsp-ez", "/x/ez", "--skip-training", "--chunks", "50", "--skip", "pth"])
    cmd = command.command_line(args, argv=["pytest"])
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
    assert command.run(args) == 0
    text = (out / "bench.md").read_text(encoding="utf-8")
    assert text == capsys.readouterr().out.rstrip("\n") + "\n"
    assert text.startswith("# lightshowpi-autoencoder benchmark")
    assert "python -m train bench" in text
    for i, (_key, title, _fn) in enumerate(command.SECTIONS, 1):
        assert "## %d. %s" % (i, title) in text
    assert "skipped: --skip-training" in text
    assert "skipped: --skip pth" in text
    assert "is not a LightShowPi checkout" in text           # per-chunk, memory, start-up
    assert "no LightShowPi harness" in text                  # createcache
    assert "no songs in" in text                             # features
    data = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    statuses = {s["key"]: (s["status"], s["reason"]) for s in data["sections"]}
    assert set(statuses) == {key for key, _t, _f in command.SECTIONS}
    assert all(status == "skipped" and reason for status, reason in statuses.values()), statuses
    assert {row["measure"] for row in data["summary"]} == {t.label for t in common.TARGETS}
    assert all(row["result"] == "—" for row in data["summary"])
    for key in ("CPU", "OS", "numpy", "Git commit", "Date (UTC)", "Model"):
        assert key in data["machine"]


def test_pth_section_checks_the_hook_in_a_throwaway_venv(tmp_path):
    """Functional only: the hook registers its finder with SYNCHRONIZED_LIGHTS_HOME set and
    not otherwise (the timing values are not looked at)."""
    args = parse(["--lsp-ez", str(tmp_path / "none"), "--lsp-neo", str(tmp_path / "none"),
                  "--songs", str(tmp_path), "--out", str(tmp_path / "out"), "--pth-runs", "2"])
    cfg = env.resolve(args)
    cfg.tmp = str(tmp_path)
    sec = common.Section("pth", "hook")
    try:
        pth.section_pth(cfg, sec)
    except common.Skip as exc:          # e.g. no venv module on this Python
        pytest.skip(str(exc))
    assert len(sec.checks) == 1 and sec.checks[0].target == "pth_ms"
    assert sec.tables and len(sec.tables[0]["rows"]) == 2
    assert any("lightshowpi_autoencoder.startup" in line for line in sec.data["importtime"]["set"])
    assert sec.data["importtime"]["unset"] == []


# ---------------------------------------------------------------- the scripts other interpreters run

def _fake_fft_checkout(root):
    """A checkout whose ``py/fft.py`` has an FFT that returns zeros (LightShowPi's signature)."""
    os.makedirs(os.path.join(root, "py"))
    with open(os.path.join(root, "py", "fft.py"), "w") as fh:
        fh.write("import numpy as np\n\n\nclass FFT:\n"
                 "    def __init__(self, chunk_size, sample_rate, *args):\n"
                 "        self.calls = 0\n\n"
                 "    def calculate_levels(self, data):\n"
                 "        self.calls += 1\n"
                 "        return np.zeros(8)\n")
    return str(root)


def test_child_measures_import_startup_and_memory_in_a_fresh_interpreter(tmp_path):
    import numpy as np
    checkout = _fake_fft_checkout(tmp_path / "lsp")
    pcm = np.zeros((4096 * 3 + 10, 2), dtype=np.int16)
    np.save(tmp_path / "song.npy", pcm)
    got = fresh.run_child({"mode": "import", "backend": "numpy", "checkout": checkout,
                           "shims": None})
    assert set(got) == {"import_s"} and got["import_s"] >= 0
    base = {"checkout": checkout, "shims": None, "pcm": str(tmp_path / "song.npy"),
            "chunk": 4096, "rate": 44100, "model": "unused", "which": "lsp"}
    got = fresh.run_child(dict(base, mode="startup", first=1))
    assert got["state"] == "lsp" and got["startup_s"] >= 0
    got = fresh.run_child(dict(base, mode="rss"))
    assert got["state"] == "lsp" and got["chunks"] == 3 and got["hwm_kb"] > 0


def test_probe_answers_by_path_in_another_folder(tmp_path):
    import subprocess
    import sys
    import numpy
    r = subprocess.run([sys.executable, env.PROBE, "versions"], capture_output=True, text=True,
                       cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[1] == numpy.__version__
    r = subprocess.run([sys.executable, env.PROBE, "nonsense"], capture_output=True, text=True)
    assert r.returncode != 0 and "unknown question" in r.stderr


def test_rss_wrapper_reports_the_exit_code_and_a_peak(tmp_path):
    import subprocess
    import sys
    result = tmp_path / "rss.txt"
    r = subprocess.run([sys.executable, "-I", "-S", os.path.join(os.path.dirname(env.PROBE),
                        "rss_wrapper.py"), str(result), sys.executable, "-c",
                        "import sys; sys.exit(3)"])
    assert r.returncode == 0
    rc, maxrss = (int(v) for v in result.read_text().split())
    assert rc == 3 and maxrss > 1000


def test_pinned_decoder_is_copied_as_sitecustomize(tmp_path):
    from train.bench import createcache
    cfg = argparse.Namespace(tmp=str(tmp_path))
    folder = createcache.pinned_decoder_path(cfg)
    text = open(os.path.join(folder, "sitecustomize.py")).read()
    assert "LSPAI_BENCH_PINNED_BLOCKS" in text and "audioread" in text
