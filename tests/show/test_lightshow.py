"""LightShowPi's own stages (train/show/lightshow.py) against hand computations.

The numbers marked "from the real LightShowPi" were read from the harness's
boot.json of a run of LightShowPi Neo (chunk 4096, 44.1 kHz, defaults); the
full comparison with a real run is tests/show/test_lightshow_real.py.
"""
import numpy as np
import pytest

from train.show import lightshow as L

RATE = 44100


def test_default_band_edges_match_the_real_lightshowpi():
    limits = L.frequency_limits(8, 20, 15000)
    assert len(limits) == 8
    assert limits[0][0] == 20.0
    # 10**0.3 < 2: the top edge falls short of max_frequency, as in LightShowPi
    np.testing.assert_allclose([lo for lo, _ in limits[1:]],
                               [45.62291182407933, 104.07250416538588, 237.40453404242646,
                                541.5543061627131, 1235.3642179005963, 2818.0456391950815,
                                6428.372385661424], rtol=1e-12)
    assert limits[-1][1] == pytest.approx(14664.053326168883, rel=1e-12)
    assert all(a[1] == b[0] for a, b in zip(limits, limits[1:]))


def test_band_bins_match_the_real_lightshowpi_at_4096():
    bins = L.band_bins(L.frequency_limits(8), 4096, RATE)
    assert bins.tolist() == [[1, 4], [4, 9], [9, 22], [22, 50], [50, 114], [114, 261],
                             [261, 597], [597, 1361]]


def _hand_levels(left, chunk_size, rate, limits):
    """The documented algorithm with an explicit DFT (no FFT, no train.show.lightshow code)."""
    n = len(left)
    idx = np.arange(n)
    w = (0.5 - 0.5 * np.cos(2 * np.pi * idx / (n - 1))).astype(np.float32)  # np.hanning(n)
    x = (left * w).astype(np.float64)
    out = []
    for lo_hz, hi_hz in limits:
        lo, hi = int(chunk_size * lo_hz / rate), int(chunk_size * hi_hz / rate)
        total = 0.0
        for k in range(lo, min(hi, n // 2)):  # the Nyquist bin is dropped
            total += abs(np.sum(x * np.exp(-2j * np.pi * k * idx / n))) ** 2
        out.append(np.log10(total) if total else 0.0)
    return np.array(out)


def test_bucket_levels_equal_a_hand_computation():
    rng = np.random.default_rng(3)
    pcm = rng.integers(-8000, 8000, size=(3 * 1024, 2)).astype(np.int16)
    rows = L.bucket_levels(pcm, RATE, chunk_size=1024)
    assert rows.shape == (3, 8)
    limits = L.frequency_limits(8)
    for i in range(3):
        expect = _hand_levels(pcm[i * 1024:(i + 1) * 1024, 0], 1024, RATE, limits)
        np.testing.assert_allclose(rows[i], expect, atol=1e-6)


def test_left_channel_only_and_silence_reads_zero():
    pcm = np.zeros((4096, 2), dtype=np.int16)
    pcm[:, 1] = 10000  # right channel only: LightShowPi does not look at it
    assert not L.bucket_levels(pcm, RATE, 2048).any()
    assert not L.bucket_levels(np.zeros((2048, 2), np.int16), RATE, 2048).any()


def test_a_sine_lands_in_its_band():
    t = np.arange(2048) / RATE
    for band, hz in enumerate([30, 70, 160, 350, 800, 2000, 4000, 9000]):
        x = (8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)
        row = L.bucket_levels(np.stack([x, x], 1), RATE, 2048)[0]
        assert np.argmax(row) == band, (hz, row)


def test_partial_last_chunk_and_empty_band():
    rng = np.random.default_rng(0)
    pcm = rng.integers(-3000, 3000, size=(2 * 2048 + 100, 2)).astype(np.int16)
    rows = L.bucket_levels(pcm, RATE, 2048)
    assert rows.shape == (3, 8)
    # chunk 256: bands 0 and 1 cover bins [0, 0): empty, so they read 0 (the numpy path
    # does not widen them)
    assert L.band_bins(L.frequency_limits(8), 256, RATE)[:3].tolist() == [[0, 0], [0, 0], [0, 1]]
    small = L.bucket_levels(pcm[:256], RATE, 256)
    assert (small[0, :2] == 0.0).all() and (small[0, 2:] > 0).all()


def test_custom_channel_mapping_mirrors_bands():
    rng = np.random.default_rng(1)
    pcm = rng.integers(-3000, 3000, size=(2048, 2)).astype(np.int16)
    rows = L.bucket_levels(pcm, RATE, 2048, custom_channel_mapping=[1, 2, 3, 4, 4, 3, 2, 1])
    np.testing.assert_array_equal(rows[:, 4:], rows[:, 3::-1])
    limits = L.frequency_limits(8, custom_channel_mapping=[1, 2, 3, 4, 4, 3, 2, 1])
    # 4 bands over the whole range: each band twice as wide (in octaves) as with 8
    assert limits[3][1] == pytest.approx(L.frequency_limits(8)[7][1])


def test_custom_channel_frequencies_replace_the_edges():
    edges = [0, 156, 313, 625, 1250, 2500, 5000, 10000, 15000]
    limits = L.frequency_limits(8, custom_channel_frequencies=edges)
    assert limits == list(zip(edges[:-1], edges[1:]))


def test_mono_file_loses_every_other_sample_as_in_lightshowpi():
    rng = np.random.default_rng(2)
    mono = rng.integers(-3000, 3000, size=(2048, 1)).astype(np.int16)
    rows = L.bucket_levels(mono, RATE, 2048)  # file mode: input_channels = 2
    expect = L.chunk_levels(mono[::2, 0], L.band_bins(L.frequency_limits(8), 2048, RATE))
    np.testing.assert_array_equal(rows[0], expect)
    rows_in = L.bucket_levels(mono, RATE, 2048, input_channels=1)  # audio-in
    assert not np.array_equal(rows_in[0], rows[0])


def test_cache_stats_use_positive_values_only():
    rows = np.array([[1.0, 0.0], [3.0, -1.0], [0.0, 0.0]])
    mean, std = L.cache_stats(rows)
    assert mean.dtype == np.float32 and std.dtype == np.float32
    assert mean[0] == 2.0 and std[0] == 1.0
    assert np.isnan(mean[1]) and np.isnan(std[1])


def test_brightness_rule():
    mean, std = L.first_play_stats(1)
    rows = 12.0 + 1.5 * np.array([[-0.5], [0.0], [0.125], [0.75], [2.0]])
    b = L.brightness(rows, mean, std)[:, 0]
    np.testing.assert_allclose(b, [0.0, 0.4, 0.5, 1.0, 1.0], atol=1e-12)
    # attenuation scales before the clip: a loud enough chunk still reaches full brightness
    half = L.brightness(rows, mean, std, attenuate_pct=50)[:, 0]
    np.testing.assert_allclose(half, [0.0, 0.2, 0.25, 0.5, 1.0], atol=1e-12)
    wide = L.brightness(rows, mean, std, sd_low=1.0, sd_high=1.0)[:, 0]
    np.testing.assert_allclose(wide, [0.25, 0.5, 0.5625, 0.875, 1.0], atol=1e-12)


def test_brightness_nan_stats_and_decay():
    b = L.brightness(np.array([[5.0, 5.0]]), np.array([np.nan, 5.0]), np.array([np.nan, 1.0]))
    assert b.tolist() == [[0.0, 0.4]]
    mean, std = np.array([0.0]), np.array([1.0])
    rows = np.array([[0.75], [-1.0], [-1.0], [-1.0], [-1.0]])  # full, then dark
    decayed = L.brightness(rows, mean, std, decay_factor=0.3)[:, 0]
    np.testing.assert_allclose(decayed, [1.0, 0.7, 0.4, 0.1, 0.0], atol=1e-12)


def test_pins():
    b = np.array([[0.5, 0.51, 0.555, 0.0]])
    assert L.lights_on(b).tolist() == [[False, True, True, False]]
    assert L.lights_on(b, "pwm").tolist() == b.tolist()
    np.testing.assert_allclose(L.lights_on(b, "pwm", pwm_range=100), [[0.5, 0.51, 0.55, 0.0]])
    over = L.lights_on(b, always_on=[1], always_off=[2], inverted=[4])
    assert over.tolist() == [[True, False, True, True]]
    with pytest.raises(ValueError):
        L.lights_on(b, "dimmer")


def test_read_sync_round_trip(tmp_path):
    rows = np.arange(12, dtype=float).reshape(3, 4) + 1
    mean, std = L.cache_stats(rows)
    path = tmp_path / ".song.wav.sync"
    np.savetxt(path, np.vstack([std, mean, rows]))
    r, m, s = L.read_sync(str(path))
    np.testing.assert_array_equal(r, rows)
    np.testing.assert_array_equal(m, mean)
    np.testing.assert_array_equal(s, std)
