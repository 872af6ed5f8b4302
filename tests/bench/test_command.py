"""``python -m train bench`` (train/bench/command.py): the options, the all-skipped
run, a section run alone.

No test here looks at a timing value: they depend on the machine.
"""
from __future__ import annotations

import argparse
import json

import pytest

from train.bench import command, common, env, pth


def parse(argv):
    p = argparse.ArgumentParser()
    p.add_argument("-v", "--verbose", action="store_true")
    command.add_arguments(p)
    return p.parse_args(argv)


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
