"""What leaves over the network: LED strips over E1.31/sACN (LED only, LED + GPIO, EXTEND) and ``networking = server``.

See conftest.py for how LightShowPi runs here.
"""
import io
import os
import pickle

import numpy as np
import pytest

from ..conftest import MARKS
from .conftest import assert_plugin_cache, lightshow_brightness, read_sync, sync_path, _write_cfg

pytestmark = MARKS


def _led_config(layout, port):
    """A BiblioPixel strip over E1.31/sACN to 127.0.0.1:port: one pixel per channel, each
    pixel (b*255, b*255, b*255) (MONO white, FULL), full brightness, every frame sent."""
    return {"led": {
        "led_connection": "SACN", "led_configuration": "STRIP", "strip_type": "",
        "channel_order": "RGB", "led_channel_configuration": layout, "led_channel_count": 8,
        "max_brightness": 100, "per_channel": 1, "custom_per_channel": "",
        "pattern_color_map": "MONO", "pattern_color": "255,255,255", "pattern_type": "FULL",
        "enable_multicast": "False", "sacn_address": "127.0.0.1", "sacn_port": port,
        "universe_boundary": 512, "universe_start": 1, "device_id": 0, "device_address": "",
        "hardware_id": "", "baud_rate": 1000000, "update_throttle": 0, "matrix_width": 16,
        "matrix_height": 16, "matrix_pattern_type": "IMAGE", "beats": 10,
        "image_path": "$SYNCHRONIZED_LIGHTS_HOME/config/resources/16x16star8chan.gif",
        "banner_text": "x"}}


def _use_leds(lsp, layout, port):
    _write_cfg(os.path.join(lsp.home, "config", "lspai_test_led.cfg"), _led_config(layout, port))
    return {"configs": {"led_config": "lspai_test_led.cfg"}}


def _dmx_frames(packets, pixels=8):
    """E1.31 data packets -> uint8 (frames, pixels): the red byte of each RGB pixel."""
    frames = []
    for p in packets:
        assert len(p) == 126 + 3 * pixels and p[4:16] == b"ASC-E1.17\0\0\0", p[:20]
        rgb = np.frombuffer(p[126:], dtype=np.uint8).reshape(pixels, 3)
        assert np.all(rgb == rgb[:, :1])                    # white: r == g == b
        frames.append(rgb[:, 0])
    return np.array(frames, dtype=int)


def _dedupe(frames):
    keep = [0] + [i for i in range(1, len(frames)) if np.any(frames[i] != frames[i - 1])]
    return frames[keep]


@pytest.mark.parametrize("layout", ["LEDONLY", "MIRROR"])
def test_led_strip_over_sacn_shows_the_plugin_levels(lsp, audio, tmp_path, udp_sink, layout):
    """An LED strip over E1.31 needs no hardware: LightShowPi's BiblioPixel driver sends
    UDP, caught here on localhost. LEDONLY: the 8 channels are LEDs and no GPIO pin
    is driven; MIRROR: LED + GPIO, the strip mirrors the 8 pins. Every frame sent
    must be the brightness LightShowPi computes from the plugin's cache."""
    song = audio.song("a", tmp_path)
    leds = _use_leds(lsp, layout, udp_sink.port)
    made = lsp.run(song, mode="createcache", settings=leds)
    model_id = assert_plugin_cache(song)
    assert made.cache_written
    udp_sink.take()

    run = lsp.run(song, mode="play", settings=leds)
    assert run.cache_written is False and run.boot["fft_calculate_levels_calls"] == 0
    std, mean, rows = read_sync(sync_path(song))
    expected = lightshow_brightness(rows, mean, std)
    assert_plugin_cache(song, model_id)

    sent = _dmx_frames(udp_sink.take())
    zeros = np.zeros((1, 8), dtype=int)
    # initialize() and clean_up() turn the strip off; identical frames are not resent
    want = _dedupe(np.vstack([zeros, (expected * 255).astype(int), zeros]))
    assert sent.shape == want.shape, "%d sACN frames, expected %d" % (len(sent), len(want))
    assert np.abs(sent - want).max() <= 1

    if layout == "MIRROR":
        assert np.allclose(run.brightness, expected, atol=1e-9)
        assert np.array_equal(run.gpio, (run.brightness > 0.5).astype(float))
    else:
        # no physical pin: EZ never calls set_light; Neo still calls set_array (recorded)
        assert run.gpio is None or np.all(np.isnan(run.gpio))
        if len(run.brightness):
            assert np.allclose(run.brightness, expected, atol=1e-9)


def test_led_extend_wants_a_model_for_all_channels(lsp, audio, tmp_path, udp_sink):
    """EXTEND adds the 8 LED channels to the 8 GPIO ones: LightShowPi asks for 16
    levels, the default model has 8, so the plugin says so once and the show runs
    on LightShowPi's buckets (a bucket cache, not marked as the plugin's).
    Neo reads ``active_low_mode`` per channel and sizes that list before EXTEND adds
    channels (IndexError in create_lights with the default single value, plugin or
    not): it gets one value per channel, as a Neo user would have to write."""
    song = audio.song("a", tmp_path)
    settings = _use_leds(lsp, "EXTEND", udp_sink.port)
    with open(os.path.join(lsp.home, "py", "configuration_manager.py")) as fh:
        if "'active_low_mode').split(" in fh.read():
            settings["hardware"] = {"active_low_mode": ",".join(["no"] * 16)}
    run = lsp.run(song, mode="play", fresh=True, settings=settings)
    errors = [l for l in run.log.splitlines() if "lightshowpi_autoencoder" in l and "ERROR" in l]
    assert len(errors) == 1, run.log
    assert "model has 8 channels but LightShowPi needs 16" in errors[0] and "falling back" in errors[0]
    assert "autoencoder_model_id" not in run.fft_cfg
    assert run.boot["fft"][-1]["num_bins"] == 16
    sent = _dmx_frames(udp_sink.take())
    assert len(sent) > 10 and len(run.brightness) > 10


# ================================================================ 4. networking = server
class _NetworkingStandIn(pickle.Unpickler):
    """Unpickles LightShowPi's broadcasts: numpy arrays, and Neo's networking.Bcast* namedtuples
    (as plain tuples tagged with their class name)."""

    def find_class(self, module, name):
        if module == "networking":
            return type(name, (tuple,), {"__new__": lambda cls, *args: tuple.__new__(cls, args)})
        if module.split(".")[0] in ("numpy", "builtins", "copyreg"):
            return super().find_class(module, name)
        raise pickle.UnpicklingError("unexpected %s.%s" % (module, name))


def test_server_mode_broadcasts_the_plugin_brightness(lsp, audio, tmp_path, udp_sink):
    """``[network] networking = server``: every brightness row is pickled and sent over UDP
    (to ip_clients = 127.0.0.1 here, caught on localhost). EZ sends ``(row,)``, Neo
    ``(BcastArray(row, use_overrides),)``: one per chunk, equal to what reached the pins."""
    song = audio.song("a", tmp_path)
    lsp.run(song, mode="createcache")
    model_id = assert_plugin_cache(song)
    udp_sink.take()
    run = lsp.run(song, mode="play", settings={"network": {
        "networking": "server", "ip_clients": "127.0.0.1", "port": udp_sink.port}})
    assert run.cache_written is False
    assert_plugin_cache(song, model_id)
    std, mean, rows = read_sync(sync_path(song))
    expected = lightshow_brightness(rows, mean, std)
    assert np.allclose(run.brightness, expected, atol=1e-9)

    messages = [_NetworkingStandIn(io.BytesIO(p)).load() for p in udp_sink.take()]
    shows = []
    for (payload, *rest) in messages:
        if isinstance(payload, np.ndarray):                          # EZ: the row itself
            shows.append(payload)
        elif type(payload).__name__ == "BcastArray" and len(payload[0]) == 8:   # Neo
            assert payload[1] is True                                # overrides apply on clients
            shows.append(np.asarray(payload[0]))
    assert len(shows) == len(rows), "%d rows broadcast for %d chunks" % (len(shows), len(rows))
    shows = np.array(shows, dtype=float)
    assert np.allclose(shows, expected, atol=1e-6)


# ================================================================ 5. pin modes and channel options
