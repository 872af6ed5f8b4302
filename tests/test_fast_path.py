"""The optimised per-chunk path against a straightforward reference, on random and real chunks.

The runtime's per-chunk path (feature_stream.ChunkFeatures, switching.Switching, the encoder's
direct calls, pipeline.ChunkPipeline) is written for speed: buffers kept between chunks,
numpy's private FFT ufunc, the ON/OFF rules on Python floats. Here each is run against
the plain formulas: features bit for bit against features.chunk_features (what training
computes), the switching stage bit for bit against the stage as first written (kept below
as ReferenceSwitching), and the pipeline against chunk_features -> clip -> encoder ->
total_log_power -> ReferenceSwitching: the same ON/OFF decisions on every chunk, levels
within the documented loudness tolerance (pipeline.LOUDNESS_ERROR), and bit for bit when
every chunk takes the exact loudness.
"""
import copy
import math
import os

import numpy as np
import pytest

from lightshowpi_autoencoder import encoder as E
from lightshowpi_autoencoder import feature_stream as FS
from lightshowpi_autoencoder import features as F
from lightshowpi_autoencoder import modelfile
from lightshowpi_autoencoder import pipeline as P
from lightshowpi_autoencoder import switching as SW
from lightshowpi_autoencoder.levels import HOST_MEAN, HOST_STD

from .conftest import MUSIC, SAMPLE
from .test_repeat import ReferenceRepeat


class ReferenceSwitching:
    """switching.Switching as first written: whole-array numpy, fresh arrays each chunk."""

    def __init__(self, params, unit_mean, unit_std, loud_mean, loud_std):
        p = dict(params)
        self.alpha, self.common = float(p["alpha"]), float(p["common"])
        self.threshold, self.hysteresis = float(p["threshold"]), float(p["hysteresis"])
        self.flux, self.wait_s, self.min_on_s = float(p["flux"]), float(p["wait_s"]), float(p["min_on_s"])
        self.push, self.hold_level = float(p["push"]), float(p["hold_level"])
        self.jump = float(p["jump"])
        self._last = None
        self._peaks = []
        self._bands = F.band_plan(float(p["flux_bands"]))
        self._mean = np.asarray(unit_mean, np.float64)
        self._scale = 1.0 / np.asarray(unit_std, np.float64)
        self._loud = (float(loud_mean), 1.0 / float(loud_std))
        n = len(self._mean)
        self._x = None
        self._on = np.zeros(n, bool)
        self._on_for = np.zeros(n)
        self._wait = np.zeros(n)
        self.memory = None
        if p["repeat_match"] > 0:
            self.memory = ReferenceRepeat(p["repeat_match"], p["repeat_keep"], p["repeat_after_s"],
                                          p["repeat_window_s"], p["repeat_every_s"],
                                          p["repeat_span_s"], len(self._bands[0]), n)

    def level(self, z, loudness):
        u = (np.asarray(z, np.float64) - self._mean) * self._scale
        if self.common:
            u -= self.common * (sum(u.tolist()) / len(u))     # summed in channel order
        return u + self.alpha * (loudness - self._loud[0]) * self._loud[1]

    def onset(self, x):
        starts, inv = self._bands
        b = np.add.reduceat(np.asarray(x, np.float64), starts) * inv
        prev, self._x = self._x, b
        if prev is None:
            return False
        d = b - prev
        return float(np.maximum(d, 0.0, out=d).mean()) > self.flux

    def __call__(self, z, x, loudness, seconds):
        v = self.level(z, loudness)
        hit = self.onset(x)
        on = self._on
        up = v > self.threshold + self.hysteresis
        down = v < self.threshold - self.hysteresis
        self._wait = np.where(~on & up, self._wait + seconds, 0.0)
        own = (v - self._last > self.jump) if self.jump and self._last is not None else False
        self._last = v
        start = ~on & up & (hit | own | (self._wait >= self.wait_s - 1e-9))
        stop = on & down & (self._on_for >= self.min_on_s - 1e-9)
        on = (on | start) & ~stop
        self._on = on
        self._on_for = np.where(on, np.where(start, 0.0, self._on_for) + seconds, 0.0)
        if self.hold_level:
            self._peaks = [(t - seconds, p) for t, p in self._peaks if t - seconds > 1e-9]
            self._peaks.append((self.hold_level, v))
            v = np.max([p for _t, p in self._peaks], axis=0)
        shown = v + np.where(on, 0.5 * self.push, -0.5 * self.push)
        shown = SW.CLIP * np.array([math.tanh(q) for q in shown * (1.0 / SW.CLIP)])
        row = (HOST_MEAN + HOST_STD * shown).astype(np.float32)
        return row if self.memory is None else self.memory(self._x, row, seconds)


class NaNStage:
    """Another stage in the place of switching.Switching, whose levels are NaN: called
    whole (``stage(z, x, loudness, seconds)``) or, after the pipeline gave the band means
    to the stage it was made with, on what it decides (``decide(z, loudness, seconds)``)."""

    def __call__(self, z, x, loudness, seconds):
        return self.decide(z, loudness, seconds)

    def decide(self, z, loudness, seconds):
        return np.full(len(z), np.nan, np.float32)


def _real_pcm():
    """A decoded real song: the bundled sample (always there), int16 ``(frames, 2)``."""
    from train.show.audio import decode
    pcm, rate = decode(SAMPLE)
    assert rate == 44100
    return pcm


@pytest.fixture(scope="module")
def real_pcm():
    return _real_pcm()


def _same(a, b):
    return (a is None) == (b is None) and (a is None or (a.dtype == b.dtype
                                                         and np.array_equal(a, b)))


# ---------------------------------------------------------------- features


@pytest.mark.parametrize("seed", range(6))
def test_chunk_features_object_is_chunk_features_bit_for_bit_on_random_chunks(seed):
    rng = np.random.default_rng(seed)
    for trial in range(60):
        channels = int(rng.choice([1, 2, 3]))
        n = int(rng.choice([2048, 4096, 1024, 1500, 700, 1, 5000, 3584, 8192,
                            int(rng.integers(1, 9000))]))
        scale = int(rng.choice([1, 30, 3000, 32767]))
        pcm = rng.integers(-scale, scale + 1, size=n * channels).astype(np.int16)
        if trial % 7 == 0:
            pcm[: len(pcm) // 2] = 0                  # silence, then sound
        if trial % 11 == 0:
            pcm[:] = 0                                 # silent chunk
        data = [pcm.tobytes(), pcm, bytearray(pcm.tobytes()), memoryview(pcm),
                pcm.tobytes() + b"\x01"][trial % 5]
        for model_rate in (None, 44100.0, 48000.0, 22050.0):
            f = FS.ChunkFeatures(channels, 44100.0, model_rate)
            for _ in range(2):                         # a second call reuses the buffers
                got = f(data)
                got = None if got is None else got.copy()
                assert _same(got, F.chunk_features(data, channels, 44100.0, model_rate))


def test_chunk_features_object_follows_a_stream_of_real_chunks_and_lengths(real_pcm):
    for chunk in (2048, 4096, 3000):
        f = FS.ChunkFeatures(2, 44100.0, 44100.0)
        n = -(-len(real_pcm) // chunk)                 # the last chunk is shorter
        for i in range(n):
            data = real_pcm[i * chunk:(i + 1) * chunk].tobytes()
            got = f(data)
            want = F.chunk_features(data, 2, 44100.0, 44100.0)
            assert _same(None if got is None else got.copy(), want), (chunk, i)
            if got is not None:
                # the power it keeps is the one its frame is the log of
                assert np.array_equal(np.log10(f.power).astype(np.float32), want)


def test_chunk_features_object_with_an_engine_is_chunk_features_with_it():
    calls = []

    def engine(frames):
        calls.append(frames.shape)
        return F.numpy_power(frames) * 1.5            # any engine: the same numbers either way

    rng = np.random.default_rng(3)
    for n in (2048, 4096, 1024, 700, 5000):
        pcm = rng.integers(-3000, 3000, size=2 * n).astype(np.int16)
        f = FS.ChunkFeatures(2, 44100.0, None, engine)
        assert _same(f(pcm.tobytes()).copy(),
                     F.chunk_features(pcm.tobytes(), 2, 44100.0, None, engine))
    assert calls


def test_a_copied_chunk_features_object_computes_on_its_own_buffers(real_pcm):
    f = FS.ChunkFeatures(2, 44100.0)
    data = [real_pcm[i * 2048:(i + 1) * 2048].tobytes() for i in (100, 200)]
    f(data[0])
    g = copy.deepcopy(f)
    assert _same(g(data[1]).copy(), F.chunk_features(data[1], 2, 44100.0))
    assert _same(f(data[0]).copy(), F.chunk_features(data[0], 2, 44100.0))


def test_power_bounds_clip_before_the_log_as_after_it():
    rng = np.random.default_rng(7)
    lo = (rng.uniform(-12.0, -4.0, F.N_BINS)).astype(np.float32)
    hi = lo + rng.uniform(0.0, 8.0, F.N_BINS).astype(np.float32)
    plo, phi = FS.power_bounds(lo, hi)
    assert np.array_equal(np.log10(plo).astype(np.float32), lo)
    assert np.array_equal(np.log10(phi).astype(np.float32), hi)
    # powers on, next to and either side of each bound, and anywhere between
    near = [plo, phi, np.nextafter(plo, 0), np.nextafter(plo, 1), np.nextafter(phi, 0),
            np.nextafter(phi, np.inf), plo * (1 - 1e-7), phi * (1 + 1e-7)]
    for p in near + [10.0 ** rng.uniform(-14.0, 6.0, F.N_BINS) for _ in range(200)]:
        want = np.minimum(np.maximum(np.log10(p).astype(np.float32), lo), hi)
        got = np.log10(np.minimum(np.maximum(p, plo), phi)).astype(np.float32)
        assert np.array_equal(got, want)


@pytest.mark.parametrize("chunk", [2048, 4096, 3000, 700])
def test_chunk_features_clipped_on_the_power_are_the_clipped_frames(real_pcm, chunk):
    rng = np.random.default_rng(chunk)
    lo = rng.uniform(-9.0, -6.0, F.N_BINS).astype(np.float32)
    hi = rng.uniform(-4.0, -2.0, F.N_BINS).astype(np.float32)     # both bounds bite
    f = FS.ChunkFeatures(2, 44100.0, 44100.0, clip=(lo, hi))
    bit = 0
    for i in range(-(-len(real_pcm) // chunk)):
        data = real_pcm[i * chunk:(i + 1) * chunk].tobytes()
        got, want = f(data), F.chunk_features(data, 2, 44100.0, 44100.0)
        assert (got is None) == (want is None)
        if got is not None:
            want = np.minimum(np.maximum(want, lo), hi)
            assert np.array_equal(got, want), (chunk, i)
            bit += int(np.sum((want == lo) | (want == hi)))
    assert bit > 1000           # the bounds were hit, not only passed through
    # another audio rate: the frame is remapped after the log, then clipped
    g = FS.ChunkFeatures(2, 48000.0, 44100.0, clip=(lo, hi))
    data = real_pcm[:chunk].tobytes()
    want = np.minimum(np.maximum(F.chunk_features(data, 2, 48000.0, 44100.0), lo), hi)
    assert _same(g(data).copy(), want)


@pytest.mark.parametrize("per_octave", [1.0, 6.0, 12.0, 48.0])
def test_band_means_object_is_band_means_bit_for_bit(real_pcm, per_octave):
    frames = F.song_features(real_pcm[:200 * 2048], 44100.0, 2048)[0]
    rng = np.random.default_rng(int(per_octave))
    frames = np.concatenate([frames, rng.uniform(-12, 3, (50, 513)).astype(np.float32)])
    want = F.band_means(frames, per_octave)
    means = FS.BandMeans(per_octave)
    prev = None
    for i, x in enumerate(frames):
        got = means(x)
        assert got.dtype == np.float64 and np.array_equal(got, want[i])
        # the previous result stays valid until the call after next
        assert prev is None or (np.array_equal(prev, want[i - 1]) and prev is not got)
        prev = got
    assert np.array_equal(F.band_means(frames[7], per_octave), want[7])


def test_direct_rfft_and_clip_ufunc_are_numpys_own():
    rng = np.random.default_rng(0)
    rfft = FS._rfft_direct()
    for n in (1, 3, 4, 7):
        frames = rng.normal(size=(n, F.FRAME))
        assert np.array_equal(rfft(frames, np.empty((n, F.N_BINS), complex)),
                              np.fft.rfft(frames, axis=-1))
    clip = FS.clip_ufunc()
    x = rng.normal(size=513).astype(np.float32)
    lo, hi = np.float32(-0.3) + np.zeros(513, np.float32), np.float32(0.4) + np.zeros(513, np.float32)
    assert np.array_equal(clip(x, lo, hi), np.minimum(np.maximum(x, lo), hi))


# ---------------------------------------------------------------- switching


def _random_params(rng):
    params = {"kind": SW.KIND}
    for key, (lo, hi) in SW.LIMITS.items():
        if rng.random() < 0.7:
            params[key] = float(rng.uniform(lo, min(hi, lo + 3 * (hi - lo) / 4)))
    if rng.random() < 0.2:
        params["common"] = 0.0
    if rng.random() < 0.2:
        params["wait_s"] = 0.0
    return SW.check(params, 8)


@pytest.mark.parametrize("seed", range(8))
def test_switching_is_the_reference_bit_for_bit_on_random_input(seed):
    rng = np.random.default_rng(seed)
    channels = int(rng.choice([1, 3, 8, 12]))
    params = _random_params(rng) if seed else SW.check(dict(SW.DEFAULTS, kind=SW.KIND), channels)
    mean, std = rng.normal(0, 1, channels), rng.uniform(0.01, 2, channels)
    lm, ls = float(rng.normal(-2, 1)), float(rng.uniform(0.2, 2))
    fast, ref = SW.Switching(params, mean, std, lm, ls), ReferenceSwitching(params, mean, std, lm, ls)
    seconds = float(rng.choice([2048 / 44100, 4096 / 44100, 4096 / 48000]))
    z = mean + std * rng.normal(0, 1.2, (400, channels)).cumsum(axis=0) / 6
    x = rng.normal(-6, 2, (400, 513)).astype(np.float32)
    x[::5] += 1.0                                      # onsets now and then
    x[250:] = x[50:200] + rng.normal(0, 0.05, (150, 513))   # music that comes back
    loud = rng.normal(lm, 1 / ls, 400)
    for i in range(400):
        zi = z[i].astype(np.float32) if i % 2 else z[i]
        got, want = fast(zi, x[i], loud[i], seconds), ref(zi, x[i], loud[i], seconds)
        assert got.dtype == want.dtype == np.float32 and np.array_equal(got, want), i
    assert fast.level(z[0], loud[0]).tolist() == ref.level(z[0], loud[0]).tolist()


def test_switching_is_the_reference_with_non_finite_units():
    params = SW.check(dict(SW.DEFAULTS, kind=SW.KIND), 8)
    for common in (1.0, 0.0):
        p = dict(params, common=common)
        fast, ref = SW.Switching(p, np.zeros(8), np.ones(8), -2, 0.5), ReferenceSwitching(p, np.zeros(8), np.ones(8), -2, 0.5)
        x = np.full(513, -5.0, np.float32)
        for z in (np.ones(8), np.r_[np.inf, np.ones(7)], np.r_[np.nan, np.ones(7)], np.ones(8)):
            got, want = fast(z, x, -2.0, 0.05), ref(z, x, -2.0, 0.05)
            assert np.array_equal(got, want, equal_nan=True)


# ---------------------------------------------------------------- the whole pipeline


def _reference_rows(model, pcm, chunk, channels=2, rate=44100.0):
    """chunk_features -> clip -> (band_means) -> encoder -> total_log_power ->
    ReferenceSwitching, per chunk."""
    cal = model.calibration
    stage = ReferenceSwitching(model.shaping, cal["mean"], cal["std"], cal["loudness"]["mean"],
                               cal["loudness"]["std"])
    enc = E.Encoder(model)
    lo, hi = model.input_range
    rows = []
    for i in range(-(-len(pcm) // chunk)):
        data = pcm[i * chunk:(i + 1) * chunk].tobytes()
        x = F.chunk_features(data, channels, rate, model.sample_rate)
        if x is None:
            rows.append(np.zeros(8, np.float32))
            continue
        x = np.minimum(np.maximum(x, lo), hi)
        z = enc.on_frame(x)
        rows.append(stage(z, x, float(F.total_log_power(x)), (len(data) // 2 // channels) / rate))
    return np.array(rows)


@pytest.fixture(scope="module")
def default_model():
    return modelfile.load(modelfile.default_model_path())


def _pipeline_rows(pipe, pcm, chunk):
    return np.array([pipe(pcm[i * chunk:(i + 1) * chunk].tobytes())
                     for i in range(-(-len(pcm) // chunk))])


def _decisions(rows):
    return rows > HOST_MEAN


@pytest.mark.parametrize("chunk", [2048, 4096])
def test_pipeline_decides_as_the_reference_with_levels_within_the_loudness_tolerance(
        default_model, real_pcm, chunk):
    pipe = P.ChunkPipeline(default_model, 8, 0, 44100.0, 2)
    got, want = _pipeline_rows(pipe, real_pcm, chunk), _reference_rows(default_model, real_pcm, chunk)
    assert got.shape == want.shape and np.array_equal(_decisions(got), _decisions(want))
    # the levels move with the loudness: 1.5 * alpha * error / std, plus float32 rounding
    cal = default_model.calibration["loudness"]
    bound = HOST_STD * default_model.shaping["alpha"] * P.LOUDNESS_ERROR / cal["std"]
    assert np.max(np.abs(got.astype(np.float64) - want)) <= bound + np.spacing(np.float32(21.0))


@pytest.mark.parametrize("chunk", [2048, 4096])
def test_pipeline_is_the_reference_bit_for_bit_when_every_chunk_takes_the_exact_loudness(
        default_model, real_pcm, chunk):
    pipe = P.ChunkPipeline(default_model, 8, 0, 44100.0, 2)
    pipe.stage._margin = math.inf                     # every level counts as near a line
    got, want = _pipeline_rows(pipe, real_pcm, chunk), _reference_rows(default_model, real_pcm, chunk)
    assert got.dtype == want.dtype and np.array_equal(got, want)


def test_pipeline_loudness_is_within_its_documented_error(default_model, real_pcm):
    pipe = P.ChunkPipeline(default_model, 8, 0, 44100.0, 2)
    lo, hi = default_model.input_range
    worst = 0.0
    for i in range(len(real_pcm) // 2048):
        data = real_pcm[i * 2048:(i + 1) * 2048].tobytes()
        x = pipe.features(data)
        if x is None:
            continue
        np.minimum(np.maximum(x, lo), hi, out=x)
        worst = max(worst, abs(pipe._loudness() - float(F.total_log_power(x))))
    assert 0.0 < worst <= P.LOUDNESS_ERROR / 2


def test_pipeline_on_every_shared_song_decides_as_the_reference(default_model):
    """Every shared song (when there), both chunk sizes: no decision differs."""
    from train.show.audio import decode
    songs = sorted(f for f in os.listdir(MUSIC) if f.endswith((".mp3", ".ogg"))) \
        if os.path.isdir(MUSIC) else []
    if not songs:
        pytest.skip("shared test music not found at %s" % MUSIC)
    for name in songs[:3]:
        pcm, rate = decode(os.path.join(MUSIC, name))
        pcm = pcm[: 60 * rate]
        for chunk in (2048, 4096):
            got = _pipeline_rows(P.ChunkPipeline(default_model, 8, 0, float(rate), 2), pcm, chunk)
            want = _reference_rows(default_model, pcm, chunk, rate=float(rate))
            assert np.array_equal(_decisions(got), _decisions(want)), (name, chunk)


def test_finite_check_is_numpys(default_model):
    for a in ([1, 2, 3], [np.nan, 1], [np.inf, 1], [3e38, 3e38, -3e38], [3e38, -3e38],
              [3.4e38] * 8, [-np.inf, np.inf], [0.0] * 8, [1.0, np.nan, -np.inf],
              [-3.4e38] * 4096, [np.float32(1e-45)] * 3):
        a = np.asarray(a, np.float32)
        assert P._finite(a) == bool(np.isfinite(a).all()), a


# ---------------------------------------------------------------- encoders


@pytest.mark.parametrize("backend", ["litert", "numpy"])
def test_encoder_fast_calls_give_the_public_calls_numbers(default_model, backend):
    try:
        enc = E.Encoder(default_model, backend)
    except Exception as exc:
        pytest.skip("backend %s: %s" % (backend, exc))
    rng = np.random.default_rng(0)
    n = default_model.input_size
    for _ in range(20):
        x = rng.uniform(-12, 2, n).astype(np.float32)
        got = enc.run_float32(x.reshape(1, n)).copy()
        if backend == "numpy":
            want = enc._run._model.run(x.reshape(1, n)).reshape(-1)
        else:
            from ai_edge_litert.interpreter import Interpreter
            interp = Interpreter(model_content=default_model.tflite, num_threads=1)
            interp.allocate_tensors()
            interp.set_tensor(interp.get_input_details()[0]["index"], x.reshape(1, n))
            interp.invoke()
            want = interp.get_tensor(interp.get_output_details()[0]["index"]).reshape(-1)
        assert np.array_equal(got, want) and np.array_equal(enc(x), want)
        # the pipeline's call: the model run on the frame it writes its features into
        frame = enc.input_buffer()
        if frame is None:
            frame = np.empty((1, n), np.float32)
        run = enc.in_place(frame)
        frame[...] = x.reshape(1, n)
        assert np.array_equal(run(), want)
        if backend == "litert":          # the interpreter's own Invoke, nothing between
            assert run.__closure__ is not None and run.__name__ == "run"


def test_a_stage_that_is_not_switching_still_has_its_levels_checked(default_model, real_pcm):
    pipe = P.ChunkPipeline(default_model, 8, 0, 44100.0, 2)
    pipe.stage = NaNStage()
    from lightshowpi_autoencoder.errors import PluginError
    with pytest.raises(PluginError, match="non-finite levels after switching"):
        for i in range(50):
            pipe(real_pcm[i * 2048:(i + 1) * 2048].tobytes())


def _on_each_backend(model):
    """The model's pipeline with LiteRT, then with the numpy executor (a test skips at the
    first one not installed)."""
    for backend in ("litert", "numpy"):
        try:
            yield P.ChunkPipeline(model, 8, 0, 44100.0, 2, backend=backend)
        except Exception as exc:   # backend not installed
            pytest.skip("backend %s: %s" % (backend, exc))


def test_features_written_into_the_encoders_input_tensor(make_model, real_pcm):
    """A model that reads the 513 bins: the features are logged straight into its input."""
    model = modelfile.load(make_model(8))
    assert model.input_bands is None and model.input_size == 513
    for pipe in _on_each_backend(model):
        buffer = pipe.encoder.input_buffer()
        assert buffer is not None and pipe.features.frame is buffer
        data = real_pcm[300 * 2048:301 * 2048].tobytes()
        x = pipe.features(data)
        assert np.array_equal(x, np.clip(F.chunk_features(data, 2, 44100.0), *model.input_range))


def test_band_means_written_into_the_encoders_input_tensor(default_model, real_pcm):
    """The shipped model reads the band means: the stage's, copied into its input tensor."""
    assert default_model.input_bands == 6.0 and default_model.input_size == 43
    for pipe in _on_each_backend(default_model):
        buffer = pipe.encoder.input_buffer()
        assert buffer is not None and np.shares_memory(pipe._input, buffer)
        assert pipe._bands == pipe.stage.listen     # one band computation for both
        data = real_pcm[300 * 2048:301 * 2048].tobytes()
        pipe(data)
        x = np.clip(F.chunk_features(data, 2, 44100.0), *default_model.input_range)
        want = F.band_means(x, 6.0)
        assert np.array_equal(pipe._input, want.astype(np.float32))
        assert np.array_equal(pipe.stage._x, want)


def _edited(tmp_path, edit, name):
    from .bad_models import write
    return modelfile.load(write(tmp_path, edit, name))


def _flux_bands_12(meta):
    meta["shaping"]["flux_bands"] = 12.0


@pytest.mark.parametrize("chunk", [2048, 4096])
def test_a_band_model_whose_stage_reads_other_bands(tmp_path, real_pcm, chunk):
    """The encoder's bands computed on their own, the stage's too: still the reference."""
    model = _edited(tmp_path, _flux_bands_12, "flux12")
    pipe = P.ChunkPipeline(model, 8, 0, 44100.0, 2)
    assert pipe._bands != pipe.stage.listen and len(pipe.stage.bands) != model.input_size
    pipe.stage._margin = math.inf
    got, want = _pipeline_rows(pipe, real_pcm, chunk), _reference_rows(model, real_pcm, chunk)
    assert np.array_equal(got, want)


def test_a_band_model_without_a_stage_gets_its_calibrated_units(tmp_path, real_pcm):
    model = _edited(tmp_path, lambda meta: meta.pop("shaping") and None, "plain")
    pipe = P.ChunkPipeline(model, 8, 0, 44100.0, 2)
    assert pipe.stage is None
    enc, lo, hi = E.Encoder(model), *model.input_range
    from lightshowpi_autoencoder.levels import Calibration
    cal = Calibration(model.calibration["mean"], model.calibration["std"])
    for i in range(200, 260):
        data = real_pcm[i * 2048:(i + 1) * 2048].tobytes()
        x = F.chunk_features(data, 2, 44100.0)
        want = cal(enc.on_frame(np.clip(x, lo, hi)))
        assert np.array_equal(pipe(data), want)


def test_pipeline_rows_stay_as_returned_over_a_song_longer_than_the_memory(default_model):
    """LightShowPi appends every row it gets to the song's cache: on a song longer than the
    repeat memory's span, a row kept from the start must still be what it was when returned."""
    from train.show.audio import decode
    path = os.path.join(MUSIC, "adeste-fideles-waltz_kevin-macleod.mp3")
    if not os.path.exists(path):
        pytest.skip("shared test music not found at %s" % MUSIC)
    pcm, rate = decode(path)
    pipe = P.ChunkPipeline(default_model, 8, 0, float(rate), 2)
    chunk = 2048
    n = len(pcm) // chunk
    assert n * chunk / rate > default_model.shaping["repeat_span_s"] + 10
    kept, at_once = [], []
    for i in range(n):
        row = pipe(pcm[i * chunk:(i + 1) * chunk].tobytes())
        kept.append(row)
        at_once.append(row.copy())
    assert pipe.stage.memory.count > pipe.stage.memory.size
    assert np.array_equal(np.array(kept), np.array(at_once))
