"""The switching stage (lightshowpi_autoencoder.switching): when each light goes ON and OFF."""
import math

import numpy as np
import pytest

from lightshowpi_autoencoder import switching as SW

DT = 2048 / 44100.0          # one chunk of the original LightShowPi [s]


def stage(channels=8, **over):
    params = SW.check(dict({"kind": SW.KIND}, **over), channels)
    return SW.Switching(params, np.zeros(channels), np.ones(channels), -2.0, 0.5)


def run(st, z, loud=None, dt=DT):
    """Rows for units ``z`` (n, channels) and loudness (n,) [log10 FS**2]."""
    loud = np.full(len(z), -2.0) if loud is None else loud
    return np.array([st(zi, li, dt) for zi, li in zip(z, loud)])


def on_of(rows):
    return rows > (SW.ON_LEVEL + SW.OFF_LEVEL) / 2


def test_defaults_and_limits():
    assert SW.check({"kind": SW.KIND}, 8) == SW.DEFAULTS
    assert SW.check({"kind": SW.KIND, "alpha": 1}, 8)["alpha"] == 1.0
    for bad in ({"kind": "onset-gate"}, {"kind": SW.KIND, "alpha": float("nan")},
                {"kind": SW.KIND, "min_on_s": 1e308}, {"kind": SW.KIND, "hysteresis": -1},
                {"kind": SW.KIND, "rise": "0.3"}, {"kind": SW.KIND, "wait_s": True},
                {"kind": SW.KIND, "stats_s": float("inf")}, "switching", None):
        with pytest.raises(ValueError):
            SW.check(bad, 8)


def test_levels_are_on_or_off_plus_a_small_carrier():
    rng = np.random.default_rng(0)
    rows = run(stage(), rng.normal(0, 1, (400, 8)))
    on = on_of(rows)
    assert on.any() and (~on).any()
    carrier = SW.DEFAULTS["carrier"]
    assert np.all(np.abs(rows[on] - SW.ON_LEVEL) <= carrier + 1e-6)
    assert np.all(np.abs(rows[~on] - SW.OFF_LEVEL) <= carrier + 1e-6)
    assert SW.OFF_LEVEL - carrier > 0                  # LightShowPi's cache keeps positives only
    assert np.all(rows.std(axis=0) > 0)                # never constant (LightShowPi divides by std)


def test_a_sound_that_starts_lights_at_once():
    z = np.full((60, 8), -1.0)
    z[40:, 2] = 2.0                                    # unit 3's sound starts at chunk 40
    on = on_of(run(stage(), z))
    assert not on[:40, 2].any()
    assert on[40:, 2].all()                            # the chunk it starts, not later
    assert not on[:, [0, 1, 3, 4, 5, 6, 7]].any()


def test_a_fade_in_waits_wait_s_then_shows():
    z = np.full((80, 8), -1.0)
    z[30:, 0] = np.minimum(2.0, -1.0 + 0.05 * np.arange(50))   # rises 0.05 a chunk: never a jump
    st = stage(alpha=0.0, prior_s=3600, stats_s=3600)         # statistics held near the prior
    lit = int(np.argmax(on_of(run(st, z))[:, 0]))
    line = SW.DEFAULTS["threshold"] + SW.DEFAULTS["hysteresis"]
    crossed = 30 + int(np.argmax(z[30:, 0] > line))             # first chunk above the ON line
    waited = (lit - crossed + 1) * DT                           # this chunk included
    assert SW.DEFAULTS["wait_s"] <= waited < SW.DEFAULTS["wait_s"] + DT


def test_min_on_holds_a_blip_for_min_on_s():
    z = np.full((40, 8), -1.0)
    z[20, 5] = 3.0                                     # one chunk
    on = on_of(run(stage(), z))[:, 5]
    held = math.ceil(SW.DEFAULTS["min_on_s"] / DT - 1e-9)
    assert on[20:20 + held].all() and not on[20 + held:].any() and not on[:20].any()
    # in seconds, whatever the chunk: Neo's 4096 frames hold 2 chunks (186 ms)
    on = on_of(run(stage(), z, dt=2 * DT))[:, 5]
    assert on.sum() == math.ceil(SW.DEFAULTS["min_on_s"] / (2 * DT) - 1e-9)


def test_hysteresis_keeps_a_hovering_level_steady():
    z = np.full((200, 8), -1.0)
    z[20:, 1] = 2.0
    z[60:, 1] = 0.125 + 0.15 * np.sin(np.arange(140))  # hovers around the line, within +-0.2
    still = dict(alpha=0.0, wait_s=0.0, stats_s=3600, prior_s=3600)   # statistics held still
    on = on_of(run(stage(**still), z))[:, 1]
    assert on[20:].all()                               # stays ON: never below line - 0.2
    on = on_of(run(stage(hysteresis=0.0, **still), z))[:, 1]
    assert np.sum(on[61:] != on[60:-1]) > 10           # without hysteresis it flickers


def test_louder_music_lights_more():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 1, (2000, 8))
    loud = np.where(np.arange(2000) % 400 < 200, -3.0, -1.0)   # quiet and loud passages
    on = on_of(run(stage(), z, loud))
    quiet = np.arange(2000) % 400 < 200
    assert on[~quiet].mean() > on[quiet].mean() + 0.2
    on = on_of(run(stage(alpha=0.0), z, loud))
    assert abs(on[~quiet].mean() - on[quiet].mean()) < 0.05


def test_statistics_adapt_so_no_light_stays_on():
    z = np.full((3000, 8), 0.0)
    z[:, 4] = 3.0                                      # a song far from the training range
    z += np.random.default_rng(2).normal(0, 0.3, z.shape)
    on = on_of(run(stage(), z))
    assert on[-1000:, 4].mean() < 0.95                 # the running mean caught up


def test_first_play_and_cached_rule_see_the_same_show():
    from train import lightshow
    rng = np.random.default_rng(3)
    rows = run(stage(), rng.normal(0, 1, (1000, 8)))
    on = on_of(rows)
    for mean, std in (lightshow.first_play_stats(8), lightshow.cache_stats(rows)):
        bright = lightshow.brightness(rows, mean, std)
        np.testing.assert_array_equal(bright > 0.5, on)
