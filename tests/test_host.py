"""The FFT subclass LightShowPi gets: levels, fallbacks, strict mode, caches, GPU rule.

These run against a stand-in of LightShowPi's FFT interface (tests/conftest.py);
tests/integration/test_file.py runs the same paths in the real LightShowPi.
"""
import configparser
import logging
import os

import numpy as np
import pytest

from lightshowpi_autoencoder import host, modelfile
from lightshowpi_autoencoder.settings import Settings

from .test_features import sine


def build(mod, settings, num_bins=8, mapping=0, use_gpu=False, chunk=2048, rate=44100, channels=2):
    cls = host.make_class(mod.FFT, settings_reader=lambda: settings)
    return cls(chunk, rate, num_bins, 20, 15000, mapping, 0, channels, use_gpu)


def music_chunks(n=40, chunk=2048, rate=44100):
    rng = np.random.default_rng(0)
    t = np.arange(n * chunk) / rate
    x = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 2 * t)) + rng.normal(0, 0.02, t.size)
    pcm = np.repeat((x * 32767).astype(np.int16)[:, None], 2, axis=1)
    return [pcm[i * chunk:(i + 1) * chunk].tobytes() for i in range(n)]


ON = Settings(enabled=True)


def save_cache(fft, rows):
    """What LightShowPi's save_cache does: the rows (with its std/mean rows) to the
    ``.sync`` with numpy.savetxt, then the FFT object's save_config."""
    rows = np.atleast_2d(np.asarray(rows, dtype=np.float32))
    np.savetxt(fft._cache_filename,
               np.vstack([rows.std(axis=0), rows.mean(axis=0), rows]))
    fft.save_config()


def test_levels_are_positive_on_lightshowpi_scale_and_silence_is_zero(host_module):
    fft = build(host_module(), ON)
    rows = np.array([fft.calculate_levels(c) for c in music_chunks()])
    assert fft._state == "active" and rows.shape == (40, 8)
    assert np.all(rows >= 3) and np.all(rows <= 21)
    assert 9 < rows.mean() < 15
    assert np.array_equal(fft.calculate_levels(bytes(8192)), np.zeros(8))


def test_odd_and_tiny_chunks_never_crash(host_module):
    fft = build(host_module(), ON)
    for data in (b"\x01", b"\x01\x02\x03", sine(440, 3).tobytes() + b"\x05", b""):
        row = fft.calculate_levels(data)
        assert row.shape == (8,) and np.all(np.isfinite(row))
    assert fft._state == "active"


def test_missing_model_falls_back_with_one_clear_line(host_module, caplog, tmp_path):
    missing = str(tmp_path / "nope.tflite")
    fft = build(host_module(), Settings(enabled=True, model=missing))
    with caplog.at_level(logging.ERROR, logger="lightshowpi_autoencoder"):
        row = fft.calculate_levels(music_chunks(1)[0])
    assert np.array_equal(row, np.ones(8))           # the host's own buckets
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and missing in errors[0] and "fix:" in errors[0]
    assert "falling back" in errors[0]


def test_strict_stops_the_show_with_the_message(host_module, tmp_path, caplog):
    fft = build(host_module(), Settings(enabled=True, model=str(tmp_path / "nope"), strict=True))
    with caplog.at_level(logging.ERROR, logger="lightshowpi_autoencoder"):
        with pytest.raises(SystemExit) as stopped:
            fft.calculate_levels(music_chunks(1)[0])
    assert stopped.value.code == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "model not found" in errors[0] and "show stopped" in errors[0]


def test_corrupt_model_is_rejected(host_module, tmp_path, caplog):
    src = modelfile.default_model_path()
    bad = tmp_path / "bad.tflite"
    data = bytearray(open(src, "rb").read())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    (tmp_path / "bad.json").write_text(open(src[:-7] + ".json").read())
    fft = build(host_module(), Settings(enabled=True, model=str(bad)))
    with caplog.at_level(logging.ERROR, logger="lightshowpi_autoencoder"):
        fft.calculate_levels(music_chunks(1)[0])
    assert fft._state == "buckets"
    assert "does not match its metadata" in caplog.text


def test_channel_mismatch_names_both_numbers_and_the_model(host_module, caplog):
    fft = build(host_module(), ON, mapping=[1, 2, 3, 4, 4, 3, 2, 1])
    with caplog.at_level(logging.ERROR, logger="lightshowpi_autoencoder"):
        fft.calculate_levels(music_chunks(1)[0])
    assert "model has 8 channels but LightShowPi needs 4" in caplog.text
    assert "default.tflite" in caplog.text


def test_mirrored_mapping_spreads_four_channels_over_eight_pins(host_module, make_model):
    fft = build(host_module(), Settings(enabled=True, model=make_model(4)),
                mapping=[1, 2, 3, 4, 4, 3, 2, 1])
    row = fft.calculate_levels(music_chunks(1)[0])
    assert fft._state == "active" and row.shape == (8,)
    assert np.array_equal(row[:4], row[::-1][:4])


def test_led_only_setup_with_more_channels_needs_matching_model(host_module, make_model):
    fft = build(host_module(), Settings(enabled=True, model=make_model(12)), num_bins=12)
    assert fft.calculate_levels(music_chunks(1)[0]).shape == (12,)


def test_non_finite_output_mid_song_falls_back_and_poisons_the_cache(host_module, tmp_path):
    fft = build(host_module(), ON)
    cache = str(tmp_path / ".song.mp3.sync")
    assert fft.compare_config(cache) is False
    chunks = music_chunks(6)
    fft.calculate_levels(chunks[0])
    fft.pipeline._encode = lambda: np.full(8, np.nan, dtype=np.float32)
    rows = [fft.calculate_levels(c) for c in chunks[1:]]
    assert all(np.array_equal(r, np.ones(8)) for r in rows)
    fft.save_config()
    # mixed rows are valid for nobody: not the plugin ...
    again = build(host_module(), ON)
    assert again.compare_config(cache) is False
    # ... and not LightShowPi without it
    assert host_module().FFT(2048, 44100, 8, 20, 15000, 0, 0, 2, False).compare_config(cache) is False


def test_cache_rejections_in_every_direction(host_module, tmp_path, make_model):
    mod = host_module()
    cache = str(tmp_path / ".song.mp3.sync")
    plain = lambda: mod.FFT(2048, 44100, 8, 20, 15000, 0, 0, 2, False)  # noqa: E731
    # a bucket cache ...
    b = plain(); b.compare_config(cache); b.save_config()
    assert plain().compare_config(cache) is True
    # ... is rejected by the plugin, which writes its own
    p = build(mod, ON)
    assert p.compare_config(cache) is False
    save_cache(p, [p.calculate_levels(c) for c in music_chunks(3)])
    assert build(mod, ON).compare_config(cache) is True
    # LightShowPi without the plugin rejects the plugin's cache
    assert plain().compare_config(cache) is False
    # the plugin with another model rejects it too
    assert build(mod, Settings(enabled=True, model=make_model(8, seed=3))).compare_config(cache) is False
    # and so does the plugin with another chunk size
    assert build(mod, ON, chunk=4096).compare_config(cache) is False


def test_plugin_cache_keeps_the_songs_other_sections(host_module, tmp_path):
    cfg = tmp_path / ".song.mp3.cfg"
    cfg.write_text("[custom_lightshow]\npreshow_configuration = x\n")
    p = build(host_module(), ON)
    p.compare_config(str(tmp_path / ".song.mp3.sync"))
    p.calculate_levels(music_chunks(1)[0])
    p.save_config()
    parser = configparser.RawConfigParser(allow_no_value=True)
    parser.read(cfg)
    assert parser.get("custom_lightshow", "preshow_configuration") == "x"
    assert parser.get("fft", "custom_channel_frequencies") == host.CACHE_SENTINEL


def test_song_cfg_chooses_model_or_turns_plugin_off(host_module, tmp_path, make_model):
    sync = str(tmp_path / ".song.mp3.sync")
    cfg = tmp_path / ".song.mp3.cfg"
    cfg.write_text("[custom_audio_processing]\nautoencoder_model = %s\n" % make_model(8, seed=5))
    p = build(host_module(), ON)
    p.compare_config(sync)
    assert p.pipeline.model.path == make_model(8, seed=5)
    cfg.write_text("[custom_audio_processing]\nautoencoder = off\n")
    p = build(host_module(), ON)
    p.compare_config(sync)
    assert p._state == "buckets" and p.pipeline is None


def test_gpu_path_makes_only_the_513_band_instance(host_module):
    mod = host_module(gpu=True)
    fft = build(mod, ON, use_gpu=True)
    assert mod.made == []                       # nothing before the model is known
    fft.calculate_levels(music_chunks(1)[0])
    assert mod.made == [(10, 513)]
    assert fft.use_gpu is False                 # the host's own GPU branch stays off


def test_gpu_fallback_before_activation_makes_the_hosts_8_band_instance(host_module, tmp_path):
    mod = host_module(gpu=True)
    fft = build(mod, Settings(enabled=True, model=str(tmp_path / "missing")), use_gpu=True)
    fft.calculate_levels(music_chunks(1)[0])
    assert mod.made == [(10.0, 8)] and fft.use_gpu is True


def test_gpu_fallback_after_activation_never_makes_a_second_instance(host_module):
    mod = host_module(gpu=True)
    fft = build(mod, ON, use_gpu=True)
    fft.calculate_levels(music_chunks(1)[0])
    fft.pipeline._encode = lambda: np.full(8, np.inf, dtype=np.float32)
    fft.calculate_levels(music_chunks(1)[0])
    assert mod.made == [(10, 513)] and fft.use_gpu is False


def test_install_swaps_only_when_enabled(host_module):
    mod = host_module()
    original = mod.FFT
    assert host.install(mod, Settings(enabled=False)) is False and mod.FFT is original
    assert host.install(mod, ON) is True and issubclass(mod.FFT, original)
    assert host.install(mod, ON) is True and mod.FFT.__mro__[1] is original   # not twice


def test_non_finite_levels_after_calibration_are_an_encoder_failure(host_module, tmp_path, caplog):
    """A finite encoder output that calibration or shaping turns into NaN falls back like
    a NaN output (the model is checked at load; this is the last line of defence)."""
    fft = build(host_module(), ON)
    fft.compare_config(str(tmp_path / ".song.mp3.sync"))
    chunks = music_chunks(4)
    fft.calculate_levels(chunks[0])
    gate = fft.pipeline.stage
    from .test_fast_path import NaNStage
    fft.pipeline.stage = NaNStage()
    with caplog.at_level(logging.ERROR, logger="lightshowpi_autoencoder"):
        rows = [fft.calculate_levels(c) for c in chunks[1:]]
    assert gate is not None and all(np.array_equal(r, np.ones(8)) for r in rows)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "non-finite levels after switching" in errors[0] and "fix:" in errors[0]
    save_cache(fft, rows)
    assert build(host_module(), ON).compare_config(str(tmp_path / ".song.mp3.sync")) is False


def test_a_cache_holding_nan_rows_is_never_trusted(host_module, tmp_path, caplog):
    mod = host_module()
    cache = str(tmp_path / ".song.mp3.sync")
    p = build(mod, ON)
    p.compare_config(cache)
    save_cache(p, [p.calculate_levels(c) for c in music_chunks(3)])
    assert build(mod, ON).compare_config(cache) is True
    # the poisoned cache: NaN rows under the right model id and digest
    rows = np.loadtxt(cache)
    rows[2:] = np.nan
    np.savetxt(cache, rows)
    cfg = configparser.RawConfigParser(allow_no_value=True)
    cfg.read(cache.replace(".sync", ".cfg"))
    from lightshowpi_autoencoder import syncfile
    cfg.set("fft", "autoencoder_sync_sha256", syncfile.inspect(cache, fresh=True).sha256)
    with open(cache.replace(".sync", ".cfg"), "w") as fh:
        cfg.write(fh)
    with caplog.at_level(logging.INFO, logger="lightshowpi_autoencoder"):
        assert build(mod, ON).compare_config(cache) is False
    assert "NaN/Inf" in caplog.text
    # and the plugin never vouches for such rows under a model id
    q = build(mod, ON)
    q.compare_config(cache)
    save_cache(q, np.full((3, 8), np.nan))
    cfg.read(cache.replace(".sync", ".cfg"))
    assert cfg.get("fft", "autoencoder_model_id") == host.NON_FINITE


def test_a_half_written_pair_is_regenerated(host_module, tmp_path, make_model, caplog, monkeypatch):
    """LightShowPi writes the .sync, then save_config the .cfg: when the second write
    fails, model B's rows sit under model A's .cfg; model A must not trust them."""
    mod = host_module()
    cache = str(tmp_path / ".song.mp3.sync")
    a = build(mod, ON)
    a.compare_config(cache)
    save_cache(a, [a.calculate_levels(c) for c in music_chunks(3)])
    cfg_a = open(cache.replace(".sync", ".cfg")).read()
    b = build(mod, Settings(enabled=True, model=make_model(8, seed=7)))
    assert b.compare_config(cache) is False
    rows_b = [b.calculate_levels(c) for c in music_chunks(3)]

    def read_only_cfg(path, mode="r", *args, **kwargs):   # an immutable .cfg (chattr +i)
        if str(path).endswith(".cfg") and "w" in mode:
            raise PermissionError(1, "Operation not permitted", str(path))
        return open(path, mode, *args, **kwargs)
    monkeypatch.setattr(host, "open", read_only_cfg, raising=False)
    with caplog.at_level(logging.ERROR, logger="lightshowpi_autoencoder"):
        save_cache(b, rows_b)
    monkeypatch.undo()
    assert open(cache.replace(".sync", ".cfg")).read() == cfg_a     # A's settings, B's rows
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "could not write the cache's settings" in errors[0]
    assert ".song.mp3.cfg" in errors[0] and "fix:" in errors[0]
    with caplog.at_level(logging.INFO, logger="lightshowpi_autoencoder"):
        assert build(mod, ON).compare_config(cache) is False
    assert "rows were rewritten" in caplog.text


def test_a_song_cfg_can_make_its_song_strict(host_module, tmp_path, caplog):
    cfg = tmp_path / ".song.mp3.cfg"
    cfg.write_text("[custom_audio_processing]\nautoencoder_strict = on\n"
                   "autoencoder_model = missing.tflite\n")
    fft = build(host_module(), ON)
    with caplog.at_level(logging.ERROR, logger="lightshowpi_autoencoder"):
        with pytest.raises(SystemExit) as stopped:
            fft.compare_config(str(tmp_path / ".song.mp3.sync"))
    assert stopped.value.code == 1
    (line,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    # the fix and the strict note name the song's file, not overrides.cfg
    assert "check autoencoder_model in %s" % cfg in line and "autoencoder_strict = on" in line
    assert "overrides.cfg" not in line


def test_bad_settings_are_logged_when_the_fft_object_is_made(host_module, tmp_path, caplog):
    bad = Settings(enabled=True, strict=False, problems=("autoencoder_strict = maybe is not on/off "
                                                         "(taken as off); file: o.cfg; fix: x",))
    with caplog.at_level(logging.ERROR, logger="lightshowpi_autoencoder"):
        fft = build(host_module(), bad)
        assert len(caplog.records) == 1 and "autoencoder_strict = maybe" in caplog.text
        fft.calculate_levels(music_chunks(1)[0])
    assert fft._state == "active" and len(caplog.records) == 1     # the plugin still runs
