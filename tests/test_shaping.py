"""The onset gate (lightshowpi_autoencoder.shaping): when, which and how long lights go on."""
import json
import math

import numpy as np
import pytest

from lightshowpi_autoencoder import modelfile, shaping
from lightshowpi_autoencoder.errors import PluginError
from lightshowpi_autoencoder.pipeline import ChunkPipeline

LINE = 12 + 0.125 * 1.5     # LightShowPi's first-play switching line (mean 12, std 1.5)
PARAMS = shaping.check({"kind": shaping.KIND}, 8)


def _gate(channels=8, **over):
    params = shaping.check(dict({"kind": shaping.KIND}, **over), channels)
    return shaping.OnsetGate(params, np.ones(channels))


def _drive(gate, frames, acts, seconds):
    return np.array([gate(x.astype(np.float32).copy(), z.astype(np.float32), seconds)
                     for x, z in zip(frames, acts)])


def _random_song(n, seed=0, channels=8):
    rng = np.random.default_rng(seed)
    loud = np.repeat(rng.random(n // 4 + 1) < 0.4, 4)[:n]          # bursts of 4 chunks
    frames = rng.normal(-6, 0.2, (n, 513)) + 2.0 * loud[:, None]
    acts = np.tanh(rng.normal(0, 1, (n, channels)))
    return frames, acts


@pytest.mark.parametrize("chunk,rate", [(2048, 44100.0), (4096, 44100.0), (2048, 48000.0),
                                        (512, 44100.0)])
def test_no_flash_is_shorter_than_the_hold(chunk, rate):
    seconds = chunk / rate
    rows = _drive(_gate(), *_random_song(600), seconds)
    on = rows > LINE
    need = math.ceil(PARAMS["hold_s"] / seconds - 1e-9)
    for c in range(on.shape[1]):
        padded = np.concatenate([[False], on[:, c], [False]]).astype(int)
        edges = np.diff(padded)
        lengths = np.nonzero(edges == -1)[0] - np.nonzero(edges == 1)[0]
        assert lengths.size and lengths.min() >= need, (c, lengths.min(), need)
    assert need * seconds >= 0.1


def test_levels_are_two_values_either_side_of_the_switching_line():
    rows = _drive(_gate(), *_random_song(400), 2048 / 44100.0)
    on = rows > LINE
    assert on.any() and (~on).any()
    assert np.all(np.abs(rows[on] - shaping.ON_LEVEL) <= shaping.DEFAULTS["slow_depth"] + 1e-6)
    assert np.all(np.abs(rows[~on] - shaping.OFF_LEVEL) <= shaping.DEFAULTS["slow_depth"] + 1e-6)
    assert shaping.OFF_LEVEL > 0                       # LightShowPi's cache keeps positives only
    assert np.all(rows.std(axis=0) > 0)                # LightShowPi divides by each channel's std


def test_an_onset_lights_the_channels_that_rose_most():
    gate = _gate(fairness_per_s=0.0)
    quiet = np.full(513, -8.0)
    seconds = 2048 / 44100.0
    for _ in range(50):                                # steady: no onset
        levels = gate(quiet.copy().astype(np.float32), np.zeros(8, np.float32), seconds)
    assert np.all(levels < LINE)
    z = np.zeros(8, np.float32)
    z[[2, 5]] = 3.0                                    # units 3 and 6 jump
    levels = gate(np.full(513, -4.0, np.float32), z, seconds)
    assert sorted(np.nonzero(levels > LINE)[0].tolist()) == [2, 5]


def test_fairness_gives_every_channel_a_part():
    frames, acts = _random_song(2000, seed=3)
    acts[:, 0] += np.linspace(0, 50, len(acts))        # unit 1 always rises most
    rows = _drive(_gate(), frames, acts, 2048 / 44100.0)
    assert ((rows > LINE).mean(axis=0) > 0.02).all()


def test_same_input_same_show_and_state_is_per_gate():
    frames, acts = _random_song(300, seed=5)
    a = _drive(_gate(), frames, acts, 0.05)
    b = _drive(_gate(), frames, acts, 0.05)
    assert np.array_equal(a, b)


def test_long_chunks_use_their_own_settings():
    gate = _gate()
    x, z = np.full(513, -6.0, np.float32), np.zeros(8, np.float32)
    gate(x.copy(), z, 2048 / 44100.0)
    assert gate.threshold_sd == PARAMS["threshold_sd"] and gate.fairness == PARAMS["fairness_per_s"]
    gate = _gate()
    gate(x.copy(), z, 4096 / 48000.0)                   # 85 ms
    assert gate.threshold_sd == shaping.LONG_DEFAULTS["threshold_sd"]
    assert gate.fairness == shaping.LONG_DEFAULTS["fairness_per_s"]
    assert shaping.check({"kind": shaping.KIND, "long": {"picks": 3}}, 8)["long"]["picks"] == 3


@pytest.mark.parametrize("spec", [{"kind": "other"}, {"kind": shaping.KIND, "picks": 0},
                                  {"kind": shaping.KIND, "picks": 9},
                                  {"kind": shaping.KIND, "picks": 1.5},
                                  {"kind": shaping.KIND, "hold_s": 0},
                                  {"kind": shaping.KIND, "gap_s": -1},
                                  {"kind": shaping.KIND, "threshold_sd": float("nan")},
                                  {"kind": shaping.KIND, "long": {"picks": 0}},
                                  {"kind": shaping.KIND, "long": {"colour": 1}},
                                  {"kind": shaping.KIND, "long": 3}, "onset"])
def test_bad_shaping_specs_are_refused(spec):
    with pytest.raises((ValueError, TypeError)):
        shaping.check(spec, 8)


def _with_meta(path, tmp_path, change):
    tfl, js = modelfile.model_paths(path)
    meta = json.load(open(js))
    change(meta)
    meta.pop("model_id", None)
    return modelfile.save(str(tmp_path / "edited"), open(tfl, "rb").read(), meta)


def test_model_with_bad_shaping_is_a_clear_error(make_model, tmp_path):
    def bad(meta):
        meta["shaping"] = {"kind": shaping.KIND, "picks": 99}
    with pytest.raises(PluginError) as err:
        _with_meta(make_model(), tmp_path, bad)
    assert "shaping" in str(err.value) and "edited.json" in str(err.value)


def test_pipeline_with_a_shaped_model(make_model, tmp_path):
    def add(meta):
        meta["shaping"] = {"kind": shaping.KIND}
    model = _with_meta(make_model(), tmp_path, add)
    assert model.meta["format_version"] == modelfile.FORMAT_VERSION
    rng = np.random.default_rng(0)
    pcm = (rng.normal(0, 1, (44100 * 4, 2)) * np.repeat(rng.random(88) < 0.5, 2005)[:44100 * 4, None]
           * 8000).astype(np.int16)
    rows = ChunkPipeline(model, 8, 0, 44100.0, 2).song(pcm, 2048)
    live = rows[rows.any(axis=1)]
    assert ((live > LINE) | (live < 12)).all()
    assert (live > LINE).any()
    # a newer format than the plugin reads is refused with an upgrade hint
    def future(meta):
        meta["shaping"] = {"kind": shaping.KIND}
    newer = _with_meta(make_model(), tmp_path, future)
    js = modelfile.model_paths(newer.path)[1]
    meta = json.load(open(js))
    meta["format_version"] = modelfile.FORMAT_VERSION + 1
    meta["model_id"] = modelfile.content_id(newer.tflite, meta)
    json.dump(meta, open(js, "w"))
    with pytest.raises(PluginError, match="upgrade"):
        modelfile.load(newer.path)


def test_a_steady_noisy_drone_stays_dark():
    """Bin-level noise of a steady sound must not read as onsets (bands + min_flux);
    per-bin flux with a purely adaptive threshold lights it up."""
    rng = np.random.default_rng(7)
    frames = rng.normal(-6, 0.3, (400, 513))
    acts = rng.normal(0, 1, (400, 8))
    rows = _drive(_gate(), frames, acts, 2048 / 44100.0)
    assert not (rows[1:] > LINE).any()
    naive = _drive(_gate(bands_per_octave=0, min_flux=0), frames, acts, 2048 / 44100.0)
    assert (naive > LINE).mean() > 0.02


def test_a_song_without_onsets_follows_the_slow_sound_calmly():
    """No onset, no gate: every light is OFF, but on LightShowPi's second play (cached
    per-song mean/std stretch any variation to full scale) the lights follow the slowly
    averaged activations, with long ON periods, never NaN and never noise-driven flicker."""
    lightshow = pytest.importorskip("train.lightshow")
    n, seconds = 1300, 2048 / 44100.0                   # 60 s
    rng = np.random.default_rng(11)
    t = np.arange(n) * seconds
    frames = np.full((n, 513), -6.0) + rng.normal(0, 0.05, (n, 513))
    acts = np.tanh(0.6 * np.sin(2 * np.pi * t[:, None] / np.array([7.0, 9, 11, 13, 17, 19, 23, 29]))
                   + rng.normal(0, 0.1, (n, 8)))
    rows = _drive(_gate(), frames, acts, seconds)
    assert not (rows > LINE).any()                      # first play: all dark
    mean, std = lightshow.cache_stats(rows)
    assert np.all(std > 0)
    bright = lightshow.brightness(rows, mean, std)
    assert np.isfinite(bright).all()
    on = bright > 0.5
    runs = []
    for c in range(8):
        padded = np.diff(np.concatenate([[0], on[:, c].astype(int), [0]]))
        runs += list(np.nonzero(padded == -1)[0] - np.nonzero(padded == 1)[0])
    runs = np.array(runs) * seconds
    assert runs.size and np.median(runs) > 1.0 and np.mean(runs < 0.1) < 0.1, np.sort(runs)[:10]
