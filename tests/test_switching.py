"""The switching stage (lightshowpi_autoencoder.switching): when each light goes ON and OFF."""
import math

import numpy as np
import pytest

from lightshowpi_autoencoder import switching as SW
from train.show import lightshow

DT = 2048 / 44100.0          # one chunk of the original LightShowPi [s]
QUIET = np.full(513, -6.0)   # a feature frame [log10 power]
LINE = SW.DEFAULTS["threshold"] + SW.DEFAULTS["hysteresis"]


def stage(channels=8, **over):
    """The stage with the defaults but ``over``; without the repeat memory unless asked
    (these songs repeat one frame: the memory would copy it; it is tested on its own)."""
    params = SW.check(dict(SW.DEFAULTS, kind=SW.KIND, repeat_match=0.0, **over), channels)
    return SW.Switching(params, np.zeros(channels), np.ones(channels), -2.0, 0.5)


def run(st, z, onsets=(), loud=None, dt=DT):
    """Levels for units ``z`` (n, channels); the music has an onset at each chunk in ``onsets``
    (its spectrum jumps 10 dB, then falls back); loudness (n,) [log10 FS**2], default -2."""
    loud = np.full(len(z), -2.0) if loud is None else loud
    rows = []
    for i, (zi, li) in enumerate(zip(z, loud)):
        x = QUIET + (1.0 if i in onsets else 0.0)
        rows.append(st(zi, x, li, dt))
    return np.array(rows)


def shown(rows):
    """What LightShowPi's first play shows (mean 12, std 1.5 for every light)."""
    mean, std = lightshow.first_play_stats(rows.shape[1])
    return lightshow.brightness(rows, mean, std) > 0.5


def test_defaults_and_limits():
    assert SW.check(dict(SW.DEFAULTS, kind=SW.KIND), 8) == SW.DEFAULTS
    # a model from before the own onset and the repeat memory keeps its show without them
    assert SW.check({"kind": SW.KIND}, 8) == dict(SW.DEFAULTS, **SW.UNSET)
    assert SW.check({"kind": SW.KIND, "alpha": 1}, 8)["alpha"] == 1.0
    for bad in ({"kind": "onset-gate"}, {"kind": SW.KIND, "alpha": float("nan")},
                {"kind": SW.KIND, "min_on_s": 1e308}, {"kind": SW.KIND, "hysteresis": -1},
                {"kind": SW.KIND, "flux": "0.3"}, {"kind": SW.KIND, "wait_s": True},
                {"kind": SW.KIND, "push": float("inf")}, {"kind": SW.KIND, "picks": 2},
                "switching", None):
        with pytest.raises(ValueError):
            SW.check(bad, 8)


def test_levels_are_positive_and_finite():
    rng = np.random.default_rng(0)
    rows = run(stage(), rng.normal(0, 3, (400, 8)), onsets=range(0, 400, 5),
               loud=rng.normal(-2, 2, 400))
    assert np.all(np.isfinite(rows)) and rows.dtype == np.float32
    low, high = 12 - 1.5 * SW.CLIP, 12 + 1.5 * SW.CLIP
    assert rows.min() >= low - 1e-4 and rows.max() <= high + 1e-4 and low > 0


# common = 0 where a test sets levels directly: units at -1 (OFF) and one at 1, above the ON
# line but not so far that LightShowPi would show it ON without the stage's decision
# (and not the light's own onset: tested on its own below)
PLAIN = dict(common=0.0, jump=0.0)

def test_a_sound_that_starts_on_a_beat_lights_at_once():
    z = np.full((60, 8), -1.0)
    z[40:, 2] = 1.0                                    # unit 3's sound starts at chunk 40 ...
    on = shown(run(stage(**PLAIN), z, onsets={40}))    # ... with an onset of the music
    assert not on[:40, 2].any() and on[40:, 2].all()
    assert not on[:, [0, 1, 3, 4, 5, 6, 7]].any()


def test_without_an_onset_a_light_waits_wait_s():
    z = np.full((60, 8), -1.0)
    z[30:, 0] = 1.0                                    # no onset in the music: a fade-in
    on = shown(run(stage(**PLAIN), z))[:, 0]
    waited = int(np.argmax(on)) - 30 + 1               # chunks above the line, this one included
    assert waited == math.ceil(SW.DEFAULTS["wait_s"] / DT - 1e-9)
    assert on[30 + waited - 1:].all()


def test_min_on_holds_a_blip_for_min_on_s():
    z = np.full((40, 8), -1.0)
    z[20, 5] = 1.0                                     # one chunk, on a beat
    on = shown(run(stage(**PLAIN), z, onsets={20}))[:, 5]
    held = math.ceil(SW.DEFAULTS["min_on_s"] / DT - 1e-9)
    assert on[20:20 + held].all() and not on[20 + held:].any() and not on[:20].any()
    # (the level's own hold, hold_level, is as long: min_on_s decides here)
    # in seconds, whatever the chunk: Neo's 4096 frames hold 2 chunks (186 ms)
    on = shown(run(stage(**PLAIN), z, onsets={20}, dt=2 * DT))[:, 5]
    assert on.sum() == math.ceil(SW.DEFAULTS["min_on_s"] / (2 * DT) - 1e-9)


def test_hysteresis_keeps_a_hovering_level_steady():
    z = np.full((200, 8), -1.0)
    z[20:, 1] = 1.0
    z[60:, 1] = SW.DEFAULTS["threshold"] + 0.15 * np.sin(np.arange(140))   # within +-0.2
    beats = set(range(0, 200, 2))                      # onsets all the time: timing is not tested
    common = dict(common=0.0, alpha=0.0, hold_level=0.0, jump=0.0)
    on = shown(run(stage(**common), z, onsets=beats))[:, 1]
    assert on[20:].all()                               # stays ON: never below line - 0.2
    on = shown(run(stage(hysteresis=0.0, **common), z, onsets=beats))[:, 1]
    assert np.sum(on[61:] != on[60:-1]) > 10           # without hysteresis it flickers


def test_louder_music_lights_more():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 1, (2000, 8))
    quiet = np.arange(2000) % 400 < 200                # quiet and loud passages
    loud = np.where(quiet, -3.0, -1.0)
    beats = set(range(0, 2000, 4))
    on = shown(run(stage(), z, beats, loud))
    assert on[~quiet].mean() > on[quiet].mean() + 0.2
    on = shown(run(stage(alpha=0.0), z, beats, loud))
    assert abs(on[~quiet].mean() - on[quiet].mean()) < 0.05


def test_units_moving_together_do_not_switch_lights():
    rng = np.random.default_rng(2)
    z = rng.normal(0, 1, (400, 8))
    together = z + np.repeat(rng.normal(0, 3, (400, 1)), 8, axis=1)
    beats = set(range(0, 400, 3))
    np.testing.assert_array_equal(shown(run(stage(), z, beats)),
                                  shown(run(stage(), together, beats)))


def test_a_light_that_does_not_fit_the_song_is_not_stuck_on_later_plays():
    """A unit far above its training range would be ON all song by the stage's own decision;
    LightShowPi's per-song statistics (from the second play on) then switch it by its level,
    still never for less than hold_level seconds."""
    rng = np.random.default_rng(3)
    z = rng.normal(0, 1, (3000, 8))
    z[:, 4] = 5.0 + rng.normal(0, 1, 3000)             # (common mode taken out of the others)
    rows = run(stage(), z, set(range(0, 3000, 4)))
    assert shown(rows)[:, 4].mean() > 0.95             # first play: the stage's decision
    mean, std = lightshow.cache_stats(rows)
    on = lightshow.brightness(rows, mean, std) > 0.5
    assert 0.05 < on[:, 4].mean() < 0.95
    from train.show import metrics
    runs = metrics.on_periods(on[:, 4])
    if on[-1, 4]:
        runs = runs[:-1]                               # the last one is cut by the song's end
    assert runs.min() * DT >= SW.DEFAULTS["hold_level"] - 1e-9


def test_first_play_and_cached_play_agree_on_a_song_that_fits():
    rng = np.random.default_rng(4)
    z = rng.normal(0, 1, (2000, 8))
    rows = run(stage(), z, set(range(0, 2000, 3)))
    first = shown(rows)
    mean, std = lightshow.cache_stats(rows)
    cached = lightshow.brightness(rows, mean, std) > 0.5
    assert np.mean(first == cached) > 0.97
