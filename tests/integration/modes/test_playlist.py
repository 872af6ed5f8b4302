"""``--playlist``: each song with its own plugin cache.

See conftest.py for how LightShowPi runs here.
"""
import configparser
import os

import numpy as np

from ..conftest import MARKS
from .conftest import (FIRST_PLAY_MEAN, FIRST_PLAY_STD, assert_plugin_cache, lightshow_brightness,
                       _mkdir, _model_lines, read_sync, sync_path)

pytestmark = MARKS


def test_playlist_plays_each_song_with_its_own_plugin_cache(lsp, audio, tmp_path):
    """``--playlist``: LightShowPi plays the playlist's next song per run (its
    ``start_playlist_once`` loops ``synchronized_lights.py --playlist`` once per
    song); each song gets a plugin-marked cache; the third run is song 1 again,
    now lit from that cache."""
    music = _mkdir(tmp_path, "music")
    songs = [audio.song("a", music, "first.wav"), audio.song("b", music, "second.wav")]
    playlist = os.path.join(music, ".playlist")
    with open(playlist, "w") as fh:
        fh.write("First song\t%s\nSecond song\t%s\n" % tuple(songs))

    runs = [lsp.boot(["--playlist", playlist]) for _ in range(3)]
    model_ids = set()
    for i, (run, song) in enumerate(zip(runs[:2], songs)):
        assert run.returncode == 0, run.output[-3000:]
        assert "Playing: %s" % song in run.log, "run %d did not play %s:\n%s" % (i, song, run.log)
        model_ids.add(assert_plugin_cache(song))
        assert len(_model_lines(run.log)) == 1
        _, _, rows = read_sync(sync_path(song))
        # first play: computed live by the plugin, mean 12 / std 1.5 until the cache exists
        assert run.boot["fft_calculate_levels_calls"] == len(rows) == len(run.brightness)
        assert np.allclose(run.brightness, lightshow_brightness(rows, FIRST_PLAY_MEAN, FIRST_PLAY_STD),
                           atol=1e-5)
        on = (run.brightness > 0.5).mean(axis=0)
        assert np.any(on > 0) and np.any(on < 1)
    assert len(model_ids) == 1

    again = runs[2]
    assert again.returncode == 0, again.output[-3000:]
    assert "Playing: %s" % songs[0] in again.log
    std, mean, rows = read_sync(sync_path(songs[0]))
    assert again.boot["fft_calculate_levels_calls"] == 0          # the plugin's cache was accepted
    assert np.allclose(again.brightness, lightshow_brightness(rows, mean, std), atol=1e-9)
    state = configparser.RawConfigParser()
    state.read(os.path.join(lsp.home, "config", "state.cfg"))
    assert state.get("do_not_modify", "song_to_play") == "1"


# ================================================================ 2. terminal mode
