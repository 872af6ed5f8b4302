"""The one feature definition: shapes, units, chunk-length rule, both FFT paths, sample rates."""
import importlib.util
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from lightshowpi_autoencoder import features as F

HARNESS_SHIM = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "lightshowpi-harness",
                            "shims", "rpi_audio_levels.py")


def sine(freq, seconds_or_n, rate=44100, amp=0.5, channels=2):
    n = seconds_or_n if isinstance(seconds_or_n, int) else int(seconds_or_n * rate)
    x = amp * np.sin(2 * np.pi * freq * np.arange(n) / rate)
    pcm = np.round(x * 32767).astype(np.int16)
    return np.repeat(pcm[:, None], channels, axis=1)


def test_sine_peaks_at_its_bin_with_documented_level():
    rate = 44100
    k = 100
    pcm = sine(k * rate / F.FRAME, 2048, rate)
    f = F.chunk_features(pcm.tobytes(), 2, rate)
    assert f.shape == (513,) and f.dtype == np.float32
    assert int(np.argmax(f)) == k
    # periodic Hann, amplitude A on a bin centre: |X|^2/sum(w^2) = (A*sum(w)/2)^2/sum(w^2)
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(1024) / 1024)
    expected = np.log10((0.5 * w.sum() / 2) ** 2 / (w * w).sum())
    assert abs(f[k] - expected) < 1e-3


def test_level_of_stationary_signal_does_not_depend_on_chunk_length():
    rng = np.random.default_rng(1)
    noise = (rng.normal(0, 3000, 16384)).astype(np.int16)
    # the expected power is the same; its log is not (a single periodogram's log is biased low)
    means = [np.log10(np.mean(10.0 ** F.chunk_features(noise[:n], 1, 44100)))
             for n in (512, 1024, 2048, 4096, 8192)]
    assert np.ptp(means) < 0.1


def test_frame_rule():
    assert F.frame_starts(1024) == (0,)
    assert F.frame_starts(2047) == (0, 512, 1023)                    # < 2048: hop 512
    assert F.frame_starts(2048) == (0, 1024)                         # >= 2048: hop 1024
    assert F.frame_starts(3584) == (0, 1024, 2048, 2560)
    assert F.frame_starts(4096) == (0, 1024, 2048, 3072)
    assert F.frame_starts(5000) == (0, 1024, 2048, 3072, 3976)
    assert F.frame_starts(1500) == (0, 476)           # last frame ends exactly at the chunk's end
    assert F.frame_starts(700) == (0,)


def test_silence_and_empty_are_none_and_odd_bytes_are_trimmed():
    assert F.chunk_features(b"", 2, 44100) is None
    assert F.chunk_features(bytes(4096), 2, 44100) is None
    chunk = sine(440, 2048).tobytes()
    assert np.array_equal(F.chunk_features(chunk + b"\x01", 2, 44100),
                          F.chunk_features(chunk, 2, 44100))
    # a half stereo frame is dropped too
    assert F.chunk_features(chunk[:-2], 2, 44100).shape == (513,)


def test_bytes_and_arrays_agree_and_stereo_is_the_mono_mix():
    pcm = sine(1000, 2048, channels=2)
    a = F.chunk_features(pcm.tobytes(), 2, 44100)
    b = F.chunk_features(pcm, 2, 44100)
    c = F.chunk_features(pcm[:, 0].copy(), 1, 44100)
    assert np.array_equal(a, b)
    assert np.allclose(a, c, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 9000), channels=st.sampled_from([1, 2]), seed=st.integers(0, 2**31 - 1),
       scale=st.sampled_from([1, 30, 3000, 32767]))
def test_any_chunk_gives_finite_513_or_none(n, channels, seed, scale):
    rng = np.random.default_rng(seed)
    pcm = rng.integers(-scale, scale + 1, size=n * channels).astype(np.int16)
    f = F.chunk_features(pcm.tobytes(), channels, 44100)
    if not pcm.reshape(-1, channels).sum(axis=1).any():   # the mono mix is silent
        assert f is None
    else:
        assert f.shape == (513,) and np.all(np.isfinite(f)) and np.all(f >= F.FLOOR - 1e-6)


def _load_shim():
    if not os.path.isfile(HARNESS_SHIM):
        pytest.skip("the harness's rpi_audio_levels emulation is not at %s" % HARNESS_SHIM)
    spec = importlib.util.spec_from_file_location("rpi_audio_levels", HARNESS_SHIM)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class EmulatedAudioLevels:
    """rpi_audio_levels' documented C semantics, written here independently of the harness:
    FFT of the first 2**size float32 samples; per band [lo, hi): log10(sum |X[j]|^2),
    -inf for an empty band; results through C float; returns (levels, means, stds) lists."""

    def __init__(self, size, bands):
        self.n, self.bands = 1 << int(size), int(bands)

    def compute(self, data, bands):
        assert data.dtype == np.float32 and data.ndim == 1 and isinstance(bands, list)
        assert len(bands) == self.bands
        x = np.zeros(self.n)
        x[: min(self.n, len(data))] = data[: self.n]
        p = np.abs(np.fft.fft(x)) ** 2
        with np.errstate(divide="ignore"):
            levels = [float(np.float32(np.log10(p[lo:hi].sum()))) for lo, hi in bands]
        return levels, [12.0] * self.bands, [0.0] * self.bands


@pytest.mark.parametrize("emulation", ["in-test", "harness"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.sampled_from([512, 700, 1024, 2048, 3000, 4096, 8192]), seed=st.integers(0, 10**6),
       scale=st.sampled_from([40, 3000, 30000]))
def test_gpu_path_matches_numpy_path(monkeypatch, emulation, n, seed, scale):
    import sys
    import types
    if emulation == "harness":
        mod = _load_shim()
    else:
        mod = types.SimpleNamespace(AudioLevels=EmulatedAudioLevels)
    monkeypatch.setitem(sys.modules, "rpi_audio_levels", mod)
    from lightshowpi_autoencoder.gpu_fft import GpuPower
    engine = GpuPower()
    rng = np.random.default_rng(seed)
    pcm = rng.normal(0, scale, size=n * 2).clip(-32768, 32767).astype(np.int16)
    a = F.chunk_features(pcm, 2, 44100)
    b = F.chunk_features(pcm, 2, 44100, engine=engine)
    assert np.max(np.abs(a - b)) <= 1e-4


def test_rate_mapping_puts_a_tone_at_the_same_frequency():
    tone = 3000.0
    for rate in (22050, 44100, 48000):
        f = F.chunk_features(sine(tone, 4096, rate), 2, rate, model_rate=44100)
        peak_hz = F.bin_frequencies(44100)[int(np.argmax(f))]
        assert abs(peak_hz - tone) <= 44100 / 1024, rate


def test_rate_mapping_fills_above_nyquist_with_floor_and_is_identity_at_same_rate():
    f22 = F.chunk_features(sine(1000, 2048, 22050), 2, 22050, model_rate=44100)
    nyq_bin = int(np.ceil(11025 / (44100 / 1024)))
    assert np.all(f22[nyq_bin + 1:] == np.float32(F.FLOOR))
    x = F.chunk_features(sine(1000, 2048), 2, 44100)
    assert np.array_equal(F.to_model_rate(x, 44100, 44100), x)


def test_song_features_marks_silent_chunks():
    pcm = np.concatenate([np.zeros((4096, 2), np.int16), sine(440, 4096)])
    feats, silent = F.song_features(pcm, 44100, 2048)
    assert feats.shape == (4, 513) and silent.tolist() == [True, True, False, False]


def test_frame_weights_taper_the_chunk():
    for length in (1500, 2048, 4096, 4100):
        w = F.frame_weights(length)
        assert len(w) == len(F.frame_starts(length))
        assert w.sum() == pytest.approx(len(w)) and np.all(w > 0)
    for length in (1500, 2048, 4096):                         # frames placed symmetrically
        w = F.frame_weights(length)
        np.testing.assert_allclose(w, w[::-1])
    np.testing.assert_allclose(F.frame_weights(2047), [0.75, 1.5, 0.75], atol=2e-3)
    np.testing.assert_allclose(F.frame_weights(2048), [1.0, 1.0])
    assert F.frame_weights(1024).tolist() == [1.0] and F.frame_weights(100).tolist() == [1.0]
    # a click in the middle of a chunk weighs more than the same click near its end
    # (at 4096 the frames do not overlap: each click sits in the middle of one frame)
    mid, late = np.zeros(4096), np.zeros(4096)
    mid[1536] = late[3584] = 1.0
    ratio = F.frame_weights(4096)[1] / F.frame_weights(4096)[3]
    np.testing.assert_allclose(F.log_power(mid) - F.log_power(late), np.log10(ratio), atol=1e-5)
