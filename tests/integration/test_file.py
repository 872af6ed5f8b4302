"""The plugin in LightShowPi's ``--file`` mode (createcache, then play), both forks:
the cache it writes, the fallbacks, strict mode, the mapping and the options after it.
"""
import os

import numpy as np

from .conftest import MARKS, _excerpt, _plugin_log_lines

pytestmark = MARKS


def test_createcache_and_play_with_and_without_the_plugin(lsp, tmp_path):
    song = _excerpt(tmp_path)
    plain = lsp(song, plugin=False)
    assert plain.cache_written and "autoencoder_model_id" not in plain.fft_cfg
    bucket_rows = plain.sync_rows()

    on = lsp(song)                                     # a bucket cache is not the plugin's
    assert on.cache_written and on.fft_cfg.get("autoencoder_model_id")
    assert on.fft_cfg["custom_channel_frequencies"] == "-1"
    rows = on.sync_rows()
    assert rows.shape == bucket_rows.shape
    live = rows[rows.any(axis=1)]
    assert np.all(live >= 3) and np.all(live <= 21) and 10 < live.mean() < 14
    assert any("model" in l and "id" in l for l in _plugin_log_lines(on))

    again = lsp(song, mode="play")                     # the plugin's own cache is used
    assert again.cache_written is False
    assert again.brightness is not None and len(again.brightness) > 100
    assert 0 < np.mean(again.brightness) < 1
    # with the song's statistics (from the second play on) no light is stuck
    on_share = (again.brightness > 0.5).mean(axis=0)
    assert again.brightness.shape[1] == 8 and np.all(on_share > 0) and np.all(on_share < 1)

    without = lsp(song, mode="play", plugin=False)     # LightShowPi alone regenerates
    assert without.cache_written and "autoencoder_model_id" not in without.fft_cfg
    assert np.allclose(without.sync_rows(), bucket_rows, atol=1e-6)

    back = lsp(song, mode="play")                      # and the plugin rejects that bucket cache
    assert back.cache_written and back.fft_cfg.get("autoencoder_model_id")
    assert np.allclose(back.sync_rows(), rows, atol=1e-5)


def test_first_play_without_cache_uses_lightshowpi_defaults(lsp, tmp_path):
    run = lsp(_excerpt(tmp_path), mode="play", fresh=True)
    first = run.summary["recorder"]["mean_std_at_first_frame"]
    assert np.allclose(first["mean"], 12.0) and np.allclose(first["std"], 1.5)
    b = run.brightness
    on = (b > 0.5).mean(axis=0)
    # the first play shows the stage's decisions on the training statistics: a show (lights
    # on and off, none on throughout), though a light whose sound this 20 s lacks may stay
    # dark until LightShowPi has the song's statistics (checked in the test above)
    assert b.shape[1] == 8 and np.all(on < 1.0) and np.sum(on > 0.0) >= 6
    assert 0.2 < on.mean() < 0.8


def test_another_model_regenerates_the_cache(lsp, tmp_path, make_model):
    song = _excerpt(tmp_path)
    first = lsp(song)
    other = lsp(song, mode="play", extra="autoencoder_model = %s\n" % make_model(8, seed=11))
    assert other.cache_written
    assert other.fft_cfg["autoencoder_model_id"] != first.fft_cfg["autoencoder_model_id"]


def test_missing_model_falls_back_to_buckets_and_writes_a_bucket_cache(lsp, tmp_path):
    song = _excerpt(tmp_path)
    missing = str(tmp_path / "no-such-model.tflite")
    run = lsp(song, extra="autoencoder_model = %s\n" % missing)
    errors = [l for l in _plugin_log_lines(run) if "ERROR" in l]
    assert len(errors) == 1 and missing in errors[0] and "falling back" in errors[0]
    assert "autoencoder_model_id" not in run.fft_cfg          # never under the plugin's name
    plain = lsp(song, mode="play", plugin=False)
    assert plain.cache_written is False                        # LightShowPi accepts it as its own


def test_strict_mode_stops_with_the_message(lsp, tmp_path):
    run = lsp(_excerpt(tmp_path), extra="autoencoder_model = %s\nautoencoder_strict = on\n"
              % (tmp_path / "nope.tflite"), expect_ok=False)
    assert run.summary["returncode"] != 0
    out = open(os.path.join(run.out, "program_output.txt"), errors="replace").read()
    assert "model not found" in out


def test_mirrored_mapping_needs_a_four_channel_model(lsp, tmp_path, make_model):
    song = _excerpt(tmp_path)
    mapping = "custom_channel_mapping = 1,2,3,4,4,3,2,1\n"
    wrong = lsp(song, extra=mapping)
    assert "model has 8 channels but LightShowPi needs 4" in wrong.log
    right = lsp(song, extra=mapping + "autoencoder_model = %s\n" % make_model(4))
    rows = right.sync_rows()
    assert right.fft_cfg.get("autoencoder_model_id") and np.allclose(rows[:, :4], rows[:, ::-1][:, :4])


def test_48k_audio_through_a_44k_model(lsp, tmp_path):
    run = lsp(_excerpt(tmp_path, seconds=8, rate=48000))
    assert run.summary["sample_rate"] == 48000 and run.fft_cfg.get("autoencoder_model_id")
    assert "trained at 44100 Hz" in run.log and "audio 48000 Hz" in run.log


def test_lightshow_options_downstream_are_untouched(lsp, tmp_path):
    """decay, attenuation and pwm/onoff pins still act on the plugin's levels."""
    song = _excerpt(tmp_path, seconds=8)
    lsp(song)
    base = lsp(song, mode="play").brightness
    dimmed = lsp(song, mode="play", extra="[lightshow]\nattenuate_pct = 50\n").brightness
    decayed = lsp(song, mode="play", extra="[lightshow]\ndecay_factor = 0.1\n").brightness
    # attenuation scales before LightShowPi's clip; decay lets a light fall 0.1 per chunk at most
    assert dimmed.mean() < base.mean() and np.all(dimmed <= base + 1e-9)
    assert np.min(np.diff(base, axis=0)) < -0.1
    assert np.min(np.diff(decayed, axis=0)) >= -0.1 - 1e-6
