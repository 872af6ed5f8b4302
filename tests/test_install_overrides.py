"""install_overrides.py, the overrides.cfg editor install.sh runs: --enable adds one marked line,
--uninstall takes back exactly what was added, byte for byte, in any order of runs.

Fast (the editor alone, in this process); tests/test_install.py runs the same through install.sh.
"""
import configparser
import importlib.util
import io
import itertools
import os

import pytest

from .conftest import REPO

spec = importlib.util.spec_from_file_location("install_overrides", os.path.join(REPO, "install_overrides.py"))
editor = importlib.util.module_from_spec(spec)
spec.loader.exec_module(editor)

# Users' files, each as bytes: the plugin's own keys written by the user, comments, other
# sections, CRLF line ends, no final newline, an "off" line, continuation lines, odd bytes.
USER_FILES = {
    "issue 11 reproduction": b"[audio_processing]\nuse_gpu = False\nautoencoder_model = autoencoder/mine.tflite\n",
    "crlf, no final newline, own plugin keys": (
        b"# my LightShowPi settings\r\n[hardware]\r\ngpio_pins = 0,1,2,3\r\n\r\n"
        b"[audio_processing]\r\n; tuned by hand\r\nautoencoder_model = autoencoder/mine.tflite\r\n"
        b"autoencoder_strict = on\r\nchunk_size = 4096\r\n\r\n[lightshow]\r\nmode = playlist"),
    "off, the last line, no final newline": b"[hardware]\ngpio_pins = 1\n[audio_processing]\n  autoencoder = off",
    "off in crlf, with a continuation": (
        b"[audio_processing]\r\nautoencoder = off\r\n   still the value\r\nautoencoder_model = m.tflite\r\n"),
    "no section, no final newline": b"[hardware]\ngpio_pins = 0,1",
    "header alone, no final newline": b"[audio_processing]",
    "empty file": b"",
    "only comments, crlf": b"# nothing yet\r\n# really\r\n",
    "latin-1 comment and trailing blanks": b"# caf\xe9\n[audio_processing]\nchunk_size = 2048\n\n\n",
    "already on (the user's own line)": b"[audio_processing]\r\nautoencoder = on\r\nautoencoder_model = x\r\n",
}


def run(path, mode, *flags):
    return editor.main([mode, str(path), *flags])


def enabled(data: bytes) -> bool:
    parser = configparser.RawConfigParser(allow_no_value=True)   # as LightShowPi reads it
    parser.read_file(io.StringIO(data.decode("utf-8", "surrogateescape")))
    return parser.get("audio_processing", "autoencoder", fallback=None) == "on"


@pytest.mark.parametrize("name", list(USER_FILES))
def test_enable_then_uninstall_gives_back_the_users_bytes(tmp_path, name, capsys):
    original = USER_FILES[name]
    cfg = tmp_path / "overrides.cfg"
    backup = tmp_path / "overrides.cfg.bak-autoencoder"
    cfg.write_bytes(original)
    assert run(cfg, "enable") == 0
    on = cfg.read_bytes()
    assert enabled(on)
    if on != original:
        assert backup.read_bytes() == original
        crlf = b"\r\n" in original
        added = on.decode("utf-8", "surrogateescape").splitlines(keepends=True)
        assert all(line.endswith("\r\n") == crlf for line in added[:-1])  # the file's own line ends
        assert on.endswith(b"\n") == (original.endswith(b"\n") or not original)
    for line in original.splitlines():
        if line.strip() not in (b"autoencoder = off", b"still the value"):
            assert line in on                          # nothing of the user's is rewritten
    assert run(cfg, "enable") == 0 and cfg.read_bytes() == on       # twice: no change
    capsys.readouterr()
    assert run(cfg, "disable") == 0
    out = capsys.readouterr().out
    if b"autoencoder = on" in original:
        assert cfg.read_bytes() == original and "kept your own" in out
    assert cfg.read_bytes() == original
    assert not backup.exists()
    assert run(cfg, "disable") == 0 and cfg.read_bytes() == original  # twice: no change


@pytest.mark.parametrize("name", ["crlf, no final newline, own plugin keys",
                                  "off, the last line, no final newline", "empty file"])
def test_any_order_of_runs_is_safe(tmp_path, name):
    original = USER_FILES[name]
    for ops in itertools.product(["enable", "disable"], repeat=4):
        cfg = tmp_path / "overrides.cfg"
        for leftover in tmp_path.iterdir():
            leftover.unlink()
        cfg.write_bytes(original)
        for op in ops:
            assert run(cfg, op) == 0, ops
            data = cfg.read_bytes()
            if op == "enable":
                assert enabled(data), ops
                assert data.count(b"autoencoder = on") == 1, ops
            else:
                assert data == original, ops


def test_a_file_it_created_goes_unless_the_user_wrote_in_it(tmp_path):
    cfg = tmp_path / "overrides.cfg"
    assert run(cfg, "enable") == 0 and enabled(cfg.read_bytes())
    assert run(cfg, "disable") == 0 and not cfg.exists()
    assert run(cfg, "enable") == 0
    cfg.write_bytes(cfg.read_bytes() + b"chunk_size = 4096\n")        # the user adds a line
    assert run(cfg, "disable") == 0
    assert cfg.read_bytes().endswith(b"[audio_processing]\nchunk_size = 4096\n")
    assert b"autoencoder" not in cfg.read_bytes()


def test_an_appended_section_keeps_its_header_when_the_user_put_lines_under_it(tmp_path):
    cfg = tmp_path / "overrides.cfg"
    cfg.write_bytes(b"[hardware]\ngpio_pins = 1\n")
    assert run(cfg, "enable") == 0
    cfg.write_bytes(cfg.read_bytes() + b"chunk_size = 4096\n")
    assert run(cfg, "disable") == 0
    assert cfg.read_bytes() == b"[hardware]\ngpio_pins = 1\n[audio_processing]\nchunk_size = 4096\n"


def test_edits_since_enable_are_kept_and_the_backup_stays_with_a_note(tmp_path, capsys):
    cfg = tmp_path / "overrides.cfg"
    original = USER_FILES["issue 11 reproduction"]
    cfg.write_bytes(original)
    assert run(cfg, "enable") == 0
    cfg.write_bytes(cfg.read_bytes() + b"[lightshow]\nmode = playlist\n")
    capsys.readouterr()
    assert run(cfg, "disable") == 0
    assert cfg.read_bytes() == original + b"[lightshow]\nmode = playlist\n"
    backup = tmp_path / "overrides.cfg.bak-autoencoder"
    assert backup.read_bytes() == original
    assert "kept the backup %s" % backup in capsys.readouterr().out


def test_check_names_what_cannot_be_written_and_changes_nothing(tmp_path, capsys):
    cfg = tmp_path / "overrides.cfg"
    cfg.write_bytes(USER_FILES["issue 11 reproduction"])
    assert run(cfg, "enable", "--check") == 0
    assert cfg.read_bytes() == USER_FILES["issue 11 reproduction"]

    def paths(plan, mode):
        return [p for p, _ in editor.needs(plan(editor.read(str(cfg)), str(cfg)), str(cfg), mode)]
    assert paths(editor.plan_enable, "enable") == [str(cfg), str(tmp_path)]  # + the backup's folder
    run(cfg, "enable")
    assert paths(editor.plan_enable, "enable") == []
    assert paths(editor.plan_disable, "disable") == [str(cfg)]
    gone = tmp_path / "no such folder" / "overrides.cfg"
    capsys.readouterr()
    assert run(gone, "enable", "--check") == editor.NOT_WRITABLE
    assert "%s does not exist (install.sh creates overrides.cfg there)" % gone.parent \
        in capsys.readouterr().out
