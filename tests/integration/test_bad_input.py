"""Bad models, bad settings and half-written caches in the real LightShowPi (issue 15).

Each bad model falls back with ONE ERROR line in LightShowPi's log naming the
file and the fix (or, with ``autoencoder_strict = on``, stops with status 1
and that line last); a bad setting reaches the log; no cache with NaN/Inf
rows or with rows another model made is trusted. Runs when
``LIGHTSHOWPI_HOME`` names checkouts (both forks), skipped otherwise; see
conftest.py for the harness.
"""
import configparser
import os
import shutil
import subprocess

import numpy as np
import pytest

from .. import bad_models
from ..conftest import shared_song
from .conftest import MARKS, _excerpt, _plugin_log_lines

pytestmark = MARKS


def _errors(run):
    return [line for line in _plugin_log_lines(run) if "ERROR" in line]


def _output(run):
    return open(os.path.join(run.out, "program_output.txt"), errors="replace").read()


def _log_lines(run):
    return [line for line in run.log.splitlines() if line.strip()]


def _cache(song):
    folder, name = os.path.split(song)
    return os.path.join(folder, "." + name + ".sync"), os.path.join(folder, "." + name + ".cfg")


@pytest.mark.parametrize("name, edit, field", bad_models.CASES, ids=[c[0] for c in bad_models.CASES])
def test_a_bad_model_falls_back_with_one_line_naming_file_and_fix(lsp, tmp_path, name, edit, field):
    song = _excerpt(tmp_path, seconds=2)
    model = bad_models.write(tmp_path / "model", edit)
    run = lsp(song, extra="autoencoder_model = %s\n" % model)
    errors = _errors(run)
    assert len(errors) == 1, run.log
    assert field in errors[0] and model[:-len(".tflite")] + ".json" in errors[0]
    assert "fix:" in errors[0] and "falling back" in errors[0]
    assert "Traceback" not in _output(run)
    # the song's cache is LightShowPi's own, never under the plugin's name, all finite
    assert run.cache_written and "autoencoder_model_id" not in run.fft_cfg
    assert np.all(np.isfinite(run.sync_rows()))


@pytest.mark.parametrize("case", ["missing", "format-version"])
def test_strict_stop_is_an_orderly_exit_with_the_reason_last(lsp, tmp_path, case):
    """A full-length song, so its decoder is still reading when the show stops."""
    song = str(tmp_path / "song.mp3")
    shutil.copyfile(shared_song("carol-of-the-bells_audionautix.mp3"), song)
    if case == "missing":
        model, field = str(tmp_path / "nope.tflite"), "model not found"
    else:
        model = bad_models.write(tmp_path / "model", bad_models._set(("format_version",), [2]))
        field = "format_version"
    run = lsp(song, mode="play", extra="autoencoder_model = %s\nautoencoder_strict = on\n" % model,
              expect_ok=False)
    assert run.summary["returncode"] == 1, _output(run)[-3000:]
    assert "Fatal Python error" not in _output(run)
    errors = _errors(run)
    assert len(errors) == 1 and field in errors[0] and "fix:" in errors[0]
    assert "show stopped" in errors[0]
    assert _log_lines(run)[-1] == errors[0]


def test_bad_on_off_values_are_in_lightshowpis_log(lsp, tmp_path):
    song = _excerpt(tmp_path, seconds=2)
    off = lsp(song, plugin=False, extra="autoencoder = maybe\n")
    (line,) = _errors(off)
    assert "autoencoder = maybe is not on/off" in line and "lsp_overrides.cfg" in line
    assert "fix: write autoencoder = on or off" in line
    assert "autoencoder_model_id" not in off.fft_cfg                    # LightShowPi's buckets
    assert off.fft_cfg.get("custom_channel_frequencies") != "-1"
    # a bad autoencoder_strict does not switch the plugin off: it counts as off
    on = lsp(song, extra="autoencoder_strict = maybe\n")
    (line,) = _errors(on)
    assert "autoencoder_strict = maybe is not on/off" in line and "taken as off" in line
    assert on.fft_cfg.get("autoencoder_model_id")


def test_a_songs_own_cfg_can_make_its_song_strict(lsp, tmp_path):
    song = _excerpt(tmp_path, seconds=2)
    song_cfg = _cache(song)[1]
    with open(song_cfg, "w") as fh:
        fh.write("[custom_audio_processing]\nautoencoder_strict = on\n"
                 "autoencoder_model = gone.tflite\n")
    run = lsp(song, expect_ok=False)
    assert run.summary["returncode"] == 1 and "Fatal Python error" not in _output(run)
    (line,) = _errors(run)
    assert "check autoencoder_model in %s" % song_cfg in line and "show stopped" in line
    assert _log_lines(run)[-1] == line


def test_a_cache_of_nan_rows_under_the_right_model_is_regenerated(lsp, tmp_path):
    from lightshowpi_autoencoder import syncfile
    song = _excerpt(tmp_path, seconds=2)
    good = lsp(song).sync_rows()
    sync, cfg = _cache(song)
    rows = np.loadtxt(sync)
    rows[2:] = np.nan                                       # the poisoned cache
    np.savetxt(sync, rows)
    parser = configparser.RawConfigParser(allow_no_value=True)
    parser.read(cfg)
    parser.set("fft", "autoencoder_sync_sha256", syncfile.inspect(sync, fresh=True).sha256)
    with open(cfg, "w") as fh:
        parser.write(fh)
    again = lsp(song, mode="play")
    assert again.cache_written and "NaN/Inf" in again.log
    assert np.allclose(again.sync_rows(), good, atol=1e-5)


def _half_written_pair_is_regenerated(lsp, song, break_cfg_write, restore):
    """Model A's pair, then model B with the .cfg write failing: B's rows under A's .cfg.
    The next play with A must regenerate (and get A's rows back)."""
    first = lsp(song)
    rows_a = first.sync_rows()
    sync, cfg = _cache(song)
    cfg_a = open(cfg).read()
    try:
        break_cfg_write(cfg)
        other = lsp(song, extra="autoencoder_model = %s\n" % lsp.model_b)
    finally:
        restore(cfg)
    assert other.cache_written
    assert open(cfg).read() == cfg_a
    assert not np.allclose(np.loadtxt(sync, ndmin=2)[2:], rows_a, atol=1e-3)   # B's rows now
    again = lsp(song, mode="play")
    assert again.cache_written and "rows were rewritten" in again.log
    assert np.allclose(again.sync_rows(), rows_a, atol=1e-5)
    return other


def test_half_written_pair_immutable_cfg(lsp, tmp_path, make_model):
    """The issue's reproduction: the song's .cfg made immutable (chattr +i, root only)."""
    song = _excerpt(tmp_path, seconds=3)
    probe = tmp_path / "probe"
    probe.write_text("x")
    if subprocess.run(["chattr", "+i", str(probe)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here (needs root and ext2/3/4, xfs or btrfs)")
    subprocess.run(["chattr", "-i", str(probe)], check=True)
    lsp.model_b = make_model(8, seed=21)
    other = _half_written_pair_is_regenerated(
        lsp, song, lambda cfg: subprocess.run(["chattr", "+i", cfg], check=True),
        lambda cfg: subprocess.run(["chattr", "-i", cfg], check=True))
    (line,) = _errors(other)
    assert "could not write the cache's settings" in line and _cache(song)[1] in line
    assert "fix:" in line and "Traceback" not in _output(other)


def test_half_written_pair_end_state(lsp, tmp_path, make_model):
    """The same end state made without chattr (any machine): B's pair, A's .cfg put back."""
    song = _excerpt(tmp_path, seconds=3)
    lsp.model_b = make_model(8, seed=21)
    saved = {}
    _half_written_pair_is_regenerated(
        lsp, song, lambda cfg: saved.setdefault("a", open(cfg).read()),
        lambda cfg: open(cfg, "w").write(saved["a"]))
