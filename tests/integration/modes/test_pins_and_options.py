"""Pin modes and channel options act on the plugin's levels as on LightShowPi's.

See conftest.py for how LightShowPi runs here.
"""

import numpy as np

from ..conftest import MARKS
from .conftest import assert_plugin_cache, lightshow_brightness, read_sync, sync_path

pytestmark = MARKS


def test_pin_modes_and_channel_options_act_on_the_plugin_levels(lsp, audio, tmp_path):
    """pin_modes (pwm / onoff, mixed), invert_channels, always_on_channels,
    always_off_channels, attenuate_pct and decay_factor, played from the plugin's
    cache: brightness must be LightShowPi's rule on the plugin's rows, and each
    pin what LightShowPi's Channel.set_action makes of it."""
    song = audio.song("a", tmp_path)
    lsp.run(song, mode="createcache")
    model_id = assert_plugin_cache(song)
    std, mean, rows = read_sync(sync_path(song))
    expected = lightshow_brightness(rows, mean, std)

    plain = lsp.run(song)
    assert plain.cache_written is False and plain.boot["fft_calculate_levels_calls"] == 0
    assert np.allclose(plain.brightness, expected, atol=1e-9)
    assert np.array_equal(plain.gpio, (plain.brightness > 0.5).astype(float))   # onoff pins
    on = plain.gpio.mean(axis=0)
    assert np.all(on > 0) and np.all(on < 1), on          # every channel blinks: a fair test

    # channels 1-4 pwm, 5-8 onoff; 2 and 6 inverted, 3 and 7 always on, 4 and 8 always off
    options = lsp.run(song, settings={
        "hardware": {"pin_modes": "pwm,pwm,pwm,pwm,onoff,onoff,onoff,onoff", "pwm_range": 100},
        "lightshow": {"invert_channels": "2,6", "always_on_channels": "3,7",
                      "always_off_channels": "4,8"}})
    b, g = options.brightness, options.gpio
    assert np.allclose(b, expected, atol=1e-9)            # options act after the brightness
    pwm = lambda x: np.floor(x * 100)                    # int(b * pwm_range)  # noqa: E731
    assert np.array_equal(g[:, 0], pwm(b[:, 0]))
    assert np.array_equal(g[:, 1], pwm(1 - b[:, 1]))      # inverted: the complement
    assert np.all(g[:, 2] == 100) and np.all(g[:, 3] == 0)
    assert np.array_equal(g[:, 4], (b[:, 4] > 0.5).astype(float))
    assert np.array_equal(g[:, 5], (1 - b[:, 5] > 0.5).astype(float))
    assert np.all(g[:, 6] == 1) and np.all(g[:, 7] == 0)
    # the pwm light follows the plugin's brightness through its whole range: the switching
    # stage pushes its levels ~4 std from LightShowPi's line, so most chunks sit at 0 or 100
    assert g[:, 0].min() == 0 and g[:, 0].max() == 100

    shaped = lsp.run(song, settings={"lightshow": {"attenuate_pct": 40, "decay_factor": 0.08}})
    want = lightshow_brightness(rows, mean, std, attenuate_pct=40, decay_factor=0.08)
    assert np.allclose(shaped.brightness, want, atol=1e-9)
    for without in (dict(attenuate_pct=40), dict(decay_factor=0.08)):   # both options acted
        assert not np.allclose(shaped.brightness, lightshow_brightness(rows, mean, std, **without))
    assert np.min(np.diff(shaped.brightness, axis=0)) >= -0.08 - 1e-9
    assert_plugin_cache(song, model_id)                   # none of it touched the cache


# ================================================================ 6. audio-in and stream-in
