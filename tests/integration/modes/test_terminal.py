"""Terminal mode (curses, under a pseudo-terminal) renders the plugin's levels.

See conftest.py for how LightShowPi runs here.
"""
import re

import numpy as np

from ..conftest import MARKS
from .conftest import (FIRST_PLAY_MEAN, FIRST_PLAY_STD, assert_plugin_cache, lightshow_brightness,
                       _model_lines, read_sync, sync_path)

pytestmark = MARKS


BOTTOM_ROW = re.compile(rb"(?<!\d)(\d{5}(?: \d{5}){7})(?!\d)")


def test_terminal_mode_renders_the_plugin_levels(lsp, audio, alsa_standin, tmp_path):
    """``[terminal] enabled = True``: LightShowPi draws the brightness with curses
    instead of driving pins. Run in an 80x24 pseudo-terminal; the bottom row of
    every frame shows each channel's brightness as 5 digits, which must be
    LightShowPi's rule applied to the plugin's levels (first play: mean 12 /
    std 1.5). Playback is paced in real time as on a sound card: unpaced, frames
    come < 1 ms apart and LightShowPi's bright_curses divides by a frame time of
    0 ms (ZeroDivisionError, a host bug independent of the plugin)."""
    song = audio.song("b", tmp_path)
    run = lsp.boot(["--file", song], settings={"terminal": {"enabled": "True"}}, tty=True,
                   env={"PYTHONPATH": alsa_standin, "LSPAI_TEST_PACE": "1"})
    assert run.returncode == 0 and "Traceback" not in run.output, run.output[-3000:]
    assert "Waiting for preShow" in run.output
    assert len(_model_lines(run.log)) == 1, run.log
    assert_plugin_cache(song)

    _, _, rows = read_sync(sync_path(song))
    frames = [[int(v) for v in m.split()] for m in BOTTOM_ROW.findall(run.output.encode())]
    assert run.boot["fft_calculate_levels_calls"] == len(rows)
    assert len(frames) == len(rows), "%d frames drawn for %d chunks" % (len(frames), len(rows))
    expected = lightshow_brightness(rows, FIRST_PLAY_MEAN, FIRST_PLAY_STD)
    digits = (np.minimum(0.999999, expected) * 10 ** 5).astype(int)   # bright_curses' display
    assert np.abs(np.array(frames) - digits).max() <= 1
    # a moving show, not a still
    changes = sum(a != b for a, b in zip(frames[1:], frames[:-1]))
    assert len(np.unique(frames, axis=0)) >= 4 and changes >= len(frames) // 10, frames


# ================================================================ 3. LED strips (sACN)
