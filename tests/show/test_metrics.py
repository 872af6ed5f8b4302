"""Each show-quality metric (train/show/metrics.py) on cases with a known answer."""
import numpy as np
import pytest

from train.show import metrics as M

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


def test_viewer_metrics_see_only_on_and_off():
    """Brightness below the switching line is invisible on onoff pins: a show that encodes
    the sections only in sub-threshold brightness tells them apart no better than chance."""
    labels = np.repeat([0, 1, 0, 1], 3)
    instances = np.repeat(np.arange(4), 3)
    per_chunk = np.repeat(labels, 20)
    bright = np.stack([0.2 + 0.2 * per_chunk, 0.4 - 0.2 * per_chunk], 1)   # never > 0.5
    row = M.show_metrics(bright, 0.05, np.array([0.5]), "exact", sections=(labels, instances))
    assert row["section_accuracy"] == pytest.approx(0.5)
    assert np.isnan(row["mean_abs_r"])                 # two constant (all OFF) traces
    assert row["on_fraction"] == 0.0


# ---------------------------------------------------------------- the lights against the sound

RATE = 8000
CHUNK = 400                      # 50 ms at 8 kHz
CS = CHUNK / RATE


def _tone(seconds, hz, db, rate=RATE):
    t = np.arange(int(seconds * rate)) / rate
    return 10 ** (db / 20) * np.sqrt(2) * np.sin(2 * np.pi * hz * t)


def _pcm(mono):
    return np.repeat(np.round(np.clip(mono, -1, 1) * 32767).astype(np.int16)[:, None], 2, 1)


def _listening(mono):
    from train.show.listening import Listening
    return Listening(_pcm(mono), RATE, CHUNK)


def test_levels_in_db_full_scale():
    from train.show.listening import power_cumsum, span_db
    csum = power_cumsum(_pcm(_tone(1.0, 440, -3.0)))       # a sine peaking at full scale
    assert span_db(csum, np.array([0]), np.array([RATE]))[0] == pytest.approx(-3.0, abs=0.01)
    csum = power_cumsum(_pcm(_tone(1.0, 440, -20.0)))
    assert span_db(csum, np.array([0]), np.array([RATE]))[0] == pytest.approx(-20.0, abs=0.01)
    assert span_db(csum, np.array([5]), np.array([5]))[0] == -np.inf      # empty span


def test_loudness_light_follows_a_crescendo():
    # 20 s from -45 to -5 dB FS: one more light per 5 dB is rho 1; the reverse -1
    db = np.repeat(np.linspace(-45, -5, 20), RATE)
    mono = 10 ** (db / 20) * np.sqrt(2) * np.sin(2 * np.pi * 440 * np.arange(len(db)) / RATE)
    lis = _listening(mono)
    n = lis.n_chunks
    level = np.repeat(np.linspace(-45, -5, 20), RATE // CHUNK)[:n]
    count = np.clip(((level + 45) / 5).astype(int), 0, 8)
    on = np.arange(8)[None, :] < count[:, None]
    assert M.loudness_light(on, lis) > 0.95
    assert M.loudness_light(np.arange(8)[None, :] >= count[:, None], lis) < -0.95
    assert M.loudness_light(np.ones((n, 8), bool), lis) == 0.0          # constant show
    # windows below -50 dB FS are left out: a silent song has nothing to score
    assert np.isnan(M.loudness_light(on, _listening(np.zeros(len(db)))))


def test_dark_counts_audible_chunks_only():
    mono = np.concatenate([_tone(2.0, 440, -60.0), _tone(2.0, 440, -10.0)])
    lis = _listening(mono)
    n = lis.n_chunks
    half = n // 2
    on = np.zeros((n, 8), bool)
    on[:half, 0] = True                        # lights during the inaudible half only
    assert M.dark_fraction(on, lis) == 1.0
    on[half + 10:, 3] = True                   # and most of the audible half
    assert M.dark_fraction(on, lis) == pytest.approx(10 / (n - half))
    assert np.isnan(M.dark_fraction(on, _listening(np.zeros(len(mono)))))


def _two_sounds(seconds_each=2.0, rounds=6):
    """Alternating low and high tones: (mono, is_high per chunk)."""
    parts, high = [], []
    for r in range(rounds):
        for hz in (200, 2500):
            parts.append(_tone(seconds_each, hz, -12.0))
            high += [hz > 1000] * int(seconds_each / CS)
    return np.concatenate(parts), np.array(high)


def test_consistency_same_sound_same_lights():
    mono, high = _two_sounds()
    lis = _listening(mono)
    on = np.stack([~high, high] + [np.zeros_like(high)] * 6, 1)
    assert M.consistency(on, lis) > 0.9
    rng = np.random.default_rng(0)
    scores = [M.consistency(rng.random((len(high), 8)) < 0.5, lis) for _ in range(5)]
    assert abs(np.mean(scores)) < 0.05
    assert M.consistency(np.ones((len(high), 8), bool), lis) == 0.0
    # the same lights for the other sound: as consistent, the metric does not care which
    assert M.consistency(on[:, ::-1], lis) == pytest.approx(M.consistency(on, lis))


def test_note_shares_weigh_chunks_by_overlap():
    on = np.zeros((10, 2))
    on[2, 0] = 1.0                                       # chunk 2 = [0.1, 0.15) s
    notes = np.array([[0.125, 60, 1.0],                  # 0.3 s from 0.125: chunks 2..8
                      [0.1, 60, 0.05]])                  # exactly chunk 2
    shares = M.note_shares(on, 0.05, notes, span=0.3)
    assert shares[0, 0] == pytest.approx(0.025 / 0.3)
    assert shares[1, 0] == pytest.approx(1.0) and shares[1, 1] == 0.0


def test_stratified_folds_are_balanced():
    labels = np.repeat([3, 4, 5], 20)
    fold = M.stratified_folds(labels, 5, seed=1)
    for y in (3, 4, 5):
        assert np.bincount(fold[labels == y], minlength=5).tolist() == [4] * 5


def test_register_from_lights():
    rng = np.random.default_rng(2)
    n_notes = 60
    midi = np.repeat([50, 62, 74], n_notes // 3)          # D3, D4, D5
    rng.shuffle(midi)
    notes = np.stack([np.arange(n_notes) * 0.5, midi, np.full(n_notes, 0.4)], 1)
    n = int(n_notes * 0.5 / CS) + 1
    octave = np.zeros((n, 8), bool)
    random = rng.random((n, 8)) < 0.5
    for t, m, d in notes:
        lo, hi = int(round(t / CS)), int(round((t + d) / CS))
        octave[lo:hi, int(m // 12) - 4] = True              # light 0 for D3, 1 for D4 ...
    assert M.register_accuracy(octave, CS, notes) == 1.0
    assert abs(M.register_accuracy(random, CS, notes) - 1 / 3) < 0.2
    assert M.register_accuracy(np.zeros((n, 8), bool), CS, notes) == pytest.approx(1 / 3)
