"""The music onset detector (train/show/onsets.py): synthetic songs and clicks."""
import numpy as np

from train.show import metrics as M
from train.show import onsets as O


def test_detector_finds_the_exact_onsets_of_a_synthetic_song():
    from train.show.synth import make_song
    song = make_song(5, section_seconds=4, repeats=2)
    found = O.detect_onsets(song.pcm, song.rate)
    assert M.f_measure(song.onsets, found) > 0.9


def test_detector_on_clicks_and_silence():
    rate = 44100
    pcm = np.zeros((rate * 4, 2), dtype=np.int16)
    rng = np.random.default_rng(0)
    clicks = [0.5, 1.25, 2.0, 3.1]
    for t in clicks:
        i = int(t * rate)
        pcm[i:i + 2000] = (8000 * rng.standard_normal((2000, 2)) *
                           np.exp(-np.arange(2000) / 300)[:, None]).astype(np.int16)
    found = O.detect_onsets(pcm, rate)
    assert M.f_measure(np.array(clicks), found) == 1.0
    assert O.detect_onsets(np.zeros((rate, 2), np.int16), rate).size == 0
    assert O.detect_onsets(np.zeros((100, 2), np.int16), rate).size == 0
