"""Each show-quality metric (train/metrics.py) on cases with a known answer."""
import numpy as np
import pytest

from train import metrics as M

T = 2048 / 44100.0  # one chunk [s]


def _onsets(seconds=60.0, n=200, seed=1, gap=0.2):
    """Music onsets at least ``gap`` s apart."""
    rng = np.random.default_rng(seed)
    return np.cumsum(gap + rng.exponential(seconds / n - gap, size=n))


def _aligned_show(onsets, n_chunks, channels=8, hold=3):
    """Each onset turns one channel ON (round robin) in the chunk that contains it."""
    bright = np.zeros((n_chunks, channels))
    for i, t in enumerate(onsets):
        c = int(t // T)
        bright[c:c + hold, i % channels] = 1.0
    return bright


# ---------------------------------------------------------------- rhythm

def test_light_onsets_merge_within_50ms():
    on = np.zeros((10, 2), dtype=bool)
    on[2, 0] = True          # t = 2T
    on[3, 1] = True          # t = 3T: 46 ms later -> merged
    on[5:7, 0] = True        # t = 5T: a new onset
    on[6, 1] = True          # channel 1 turns on at 6T: 46 ms after 5T -> merged
    np.testing.assert_allclose(M.light_onsets(on, T), [2 * T, 5 * T])
    assert M.light_onsets(np.ones((4, 3), bool), T).tolist() == [0.0]  # ON from the start
    assert M.light_onsets(np.zeros((4, 3), bool), T).size == 0


def test_perfectly_aligned_show_scores_one():
    onsets = _onsets()
    n = int(onsets[-1] / T) + 10
    row = M.show_metrics(_aligned_show(onsets, n), T, onsets, "exact", n * T)
    assert row["onset_f"] == pytest.approx(1.0)
    assert row["onset_chance"] < 0.4
    assert row["onset_f_minus_chance"] > 0.6


def test_random_show_scores_chance():
    onsets = _onsets()
    n = int(onsets[-1] / T) + 10
    for seed in range(5):
        rng = np.random.default_rng(100 + seed)
        bright = (rng.random((n, 8)) < 0.1).astype(float)
        row = M.show_metrics(bright, T, onsets, "exact", n * T, seed=seed)
        assert abs(row["onset_f_minus_chance"]) < 0.05, row
        assert row["onset_f"] > 0.1  # not trivially zero: chance is what it earns


def test_a_late_show_scores_chance():
    onsets = _onsets(n=60, gap=0.6)  # about one onset per second
    n = int(onsets[-1] / T) + 30
    late = np.roll(_aligned_show(onsets, n), 6, axis=0)  # every light 280 ms late
    row = M.show_metrics(late, T, onsets, "exact", n * T)
    assert row["onset_f"] < 0.1 and abs(row["onset_f_minus_chance"]) < 0.1


def test_empty_sides_score_zero():
    assert M.f_measure(np.array([]), np.array([1.0])) == 0.0
    scores = M.onset_scores(np.array([]), np.array([1.0, 2.0]), 10.0)
    assert scores == {"f": 0.0, "chance": 0.0, "f_minus_chance": 0.0}


# ---------------------------------------------------------------- flicker

def test_flicker_on_a_hand_made_pattern():
    t = 0.05
    on = np.zeros((10, 3), dtype=bool)
    on[[0, 1, 4], 0] = True   # ON 0.1 s (not short), ON 0.05 s (short): 4 toggles
    on[:, 2] = True           # ON the whole 0.5 s: one toggle (lights start OFF)
    f = M.flicker(on, t)
    np.testing.assert_allclose(f["toggles_per_s"], [8.0, 0.0, 2.0])
    assert f["toggles_median"] == 2.0 and f["toggles_worst"] == 8.0
    assert f["on_periods"] == 3
    assert f["short_on_fraction"] == pytest.approx(1 / 3)
    assert np.isnan(M.flicker(np.zeros((5, 2), bool), t)["short_on_fraction"])


def test_on_periods():
    assert M.on_periods(np.array([1, 1, 0, 1, 0, 0, 1, 1, 1], bool)).tolist() == [2, 1, 3]
    assert M.on_periods(np.zeros(4, bool)).size == 0


# ---------------------------------------------------------------- diversity

def test_diversity_identical_independent_and_constant():
    rng = np.random.default_rng(0)
    x = rng.random(5000)
    assert M.diversity(np.stack([x] * 8, 1)) == pytest.approx(1.0)
    assert M.diversity(np.stack([x, 1 - x], 1)) == pytest.approx(1.0)  # |r|: anti-phase too
    assert M.diversity(rng.random((5000, 8))) < 0.05
    with_const = np.stack([x, x, np.full(5000, 0.7)], 1)  # the constant channel is left out
    assert M.diversity(with_const) == pytest.approx(1.0)
    assert np.isnan(M.diversity(np.ones((10, 3))))


def test_stuck_channel_is_flagged():
    assert M.stuck_channels([0.0, 0.5, 0.97, 0.04, 0.05, 0.95]) == [1, 3, 4]
    rng = np.random.default_rng(0)
    bright = rng.random((1000, 8))
    bright[:, 2] = 1.0   # channel 3 always ON
    bright[:, 6] = 0.0   # channel 7 always OFF
    row = M.show_metrics(bright, T, np.array([1.0, 2.0]), "exact")
    assert row["stuck"] == [3, 7]
    assert row["duty"][2] == 1.0 and row["duty"][6] == 0.0


# ---------------------------------------------------------------- sections

def test_second_means():
    traces = np.arange(8, dtype=float)[:, None] * np.ones((1, 2))
    means = M.second_means(traces, 0.5, 5)  # 2 chunks per second, 4 seconds of data
    np.testing.assert_allclose(means[:4, 0], [0.5, 2.5, 4.5, 6.5])
    assert np.isnan(means[4]).all()


def test_sections_trivially_separable():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2, 0, 1, 2], 4)       # 3 kinds x 2 instances x 4 s
    instances = np.repeat(np.arange(6), 4)
    vectors = np.eye(3)[labels] + 0.05 * rng.standard_normal((24, 3))
    assert M.section_accuracy(vectors, labels, instances) == 1.0
    # no information: every second looks the same -> one kind wins everywhere
    flat = np.zeros((24, 3))
    assert M.section_accuracy(flat, labels, instances) == pytest.approx(1 / 3)


def test_a_kind_with_one_instance_cannot_be_predicted():
    labels = np.array([0, 0, 1, 1, 0, 0])
    instances = np.array([0, 0, 1, 1, 2, 2])
    vectors = np.eye(2)[labels]
    assert M.section_accuracy(vectors, labels, instances) == pytest.approx(4 / 6)


def test_show_metrics_sections_from_brightness():
    labels = np.repeat([0, 1, 0, 1], 3)
    instances = np.repeat(np.arange(4), 3)
    per_chunk = np.repeat(labels, 20)                 # 20 chunks per second
    bright = np.stack([per_chunk, 1 - per_chunk], 1).astype(float)
    row = M.show_metrics(bright, 0.05, np.array([0.5]), "exact", sections=(labels, instances))
    assert row["section_accuracy"] == 1.0


# ---------------------------------------------------------------- onset detector

def test_detector_finds_the_exact_onsets_of_a_synthetic_song():
    from train.synth import make_song
    song = make_song(5, section_seconds=4, repeats=2)
    found = M.detect_onsets(song.pcm, song.rate)
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
    found = M.detect_onsets(pcm, rate)
    assert M.f_measure(np.array(clicks), found) == 1.0
    assert M.detect_onsets(np.zeros((rate, 2), np.int16), rate).size == 0
    assert M.detect_onsets(np.zeros((100, 2), np.int16), rate).size == 0
