"""The one feature definition: an audio chunk -> a 513-bin log10 power spectrum.

Used by the runtime inside LightShowPi and by ``train/`` (which imports it),
so a model sees the same numbers in training and in a show.

Definition (units in brackets):

* Samples are int16 [LSB] as LightShowPi reads them; the channels of a frame
  are averaged (mono mix) and scaled to full scale 1.0 [FS].
* The analysis frame is ``FRAME = 1024`` samples with a periodic Hann window
  ``w``. The power of bin k is ``|X[k]|**2 / sum(w**2)`` [FS**2], so the
  expected power of a stationary signal is the same whatever the chunk length.
* Chunk of L >= 1024 samples: frames start at 0, h, 2h, ... and one more
  frame ends exactly at L when the hop grid leaves a tail; the frame powers
  are averaged (Welch) with weights ``sin(pi * c / L)**2``, c the frame's
  centre [samples] (a Hann taper over the chunk, as LightShowPi windows its
  chunk), scaled to sum to the number of frames. The taper makes a chunk
  answer mostly to its middle: an onset late in a chunk shows in the next
  one, whose start is closer to it (the lights change at chunk starts; at
  Neo's 93 ms chunks this is worth +0.024 onset F - chance on the shared
  songs). The hop h is ``HOP = 512`` (50 % overlap) for
  L < ``LONG_CHUNK = 4096`` and ``LONG_HOP = 1024`` (no overlap) from 4096 on
  (LightShowPi Neo's chunk): with 4 or more frames the average is already
  steady, and overlap would cost 7 FFTs instead of 4 per chunk (the
  benchmark's per-chunk target). The expected power of a stationary signal
  is the same either way.
* Chunk of 0 < L < 1024 samples: one frame, a Hann window of length L
  sampled at the sample centres (``sin(pi*(n+0.5)/L)**2``, never all zero,
  even for L = 1), zero padded to 1024 and normalised by its own ``sum(w**2)``.
* ``feature = log10(power + EPS)`` with ``EPS = 1e-12`` (-120 dB FS).
* A model records the sample rate it was trained at; the spectrum of audio at
  another rate is mapped onto the model's bin frequencies ``k * rate / 1024``
  [Hz] by linear interpolation of the log power; bins above the audio's
  Nyquist frequency read ``log10(EPS)``.

Everything here is a pure function over numpy arrays (shapes are given as ``(..., n)``
where leading axes are batch axes), except :class:`ChunkFeatures`: the same numbers as
:func:`chunk_features`, bit for bit, for a stream of chunks with its buffers kept (the
runtime's per-chunk path).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Optional, Sequence, Tuple

import numpy as np

FRAME = 1024
HOP = 512
LONG_HOP = 1024
LONG_CHUNK = 4096
N_BINS = FRAME // 2 + 1
EPS = 1e-12
FLOOR = float(np.log10(EPS))
#: Bump when any number this module produces changes: caches and models key on it.
FEATURE_VERSION = 3

#: A power-spectrum engine: float64 windowed frames ``(n_frames, FRAME)`` ->
#: ``|rfft|**2`` of each, shape ``(n_frames, N_BINS)`` [FS**2, not normalised].
PowerEngine = Callable[[np.ndarray], np.ndarray]


def numpy_power(frames: np.ndarray) -> np.ndarray:
    """``|rfft(frames)|**2`` along the last axis (numpy, float64)."""
    spec = np.fft.rfft(frames, axis=-1)
    return spec.real * spec.real + spec.imag * spec.imag


def _mono_sum(data: bytes | bytearray | memoryview | np.ndarray, channels: int) -> Tuple[np.ndarray, float]:
    """Interleaved int16 PCM -> ``(s, scale)``: float64 ``(frames,)`` with ``s * scale``
    the mono mix [FS] (``s`` holds the exact integer sums). The scale is left to the
    caller so the hot path can fold it into one later multiply.
    """
    if channels < 1:
        raise ValueError("channels must be >= 1, got %r" % (channels,))
    if isinstance(data, np.ndarray):
        pcm = np.asarray(data, dtype=np.int16).reshape(-1)
        pcm = pcm[: len(pcm) - len(pcm) % channels]
    else:
        if not isinstance(data, (bytes, bytearray)):
            data = memoryview(data).cast("B")
        pcm = np.frombuffer(data, dtype=np.int16, count=len(data) // (2 * channels) * channels)
    frames = len(pcm) // channels
    if channels == 1:
        return pcm.astype(np.float64), 1.0 / 32768.0
    if channels == 2:
        # strided add with a float64 result: several times faster than reshape().mean()
        return np.add(pcm[0::2], pcm[1::2], dtype=np.float64), 0.5 / 32768.0
    return pcm.reshape(frames, channels).sum(axis=1, dtype=np.float64), 1.0 / (32768.0 * channels)


def pcm_to_mono(data: bytes | bytearray | memoryview | np.ndarray, channels: int) -> np.ndarray:
    """Interleaved int16 PCM -> mono float64 samples [FS], shape ``(frames,)``.

    ``data`` may be raw bytes (as LightShowPi reads them) or an int16 array of
    shape ``(frames * channels,)`` or ``(frames, channels)``. A trailing
    partial sample or partial frame (odd byte counts from a stream) is dropped,
    never an error.
    """
    total, scale = _mono_sum(data, channels)
    return total * scale


@lru_cache(maxsize=64)
def _window(length: int) -> Tuple[np.ndarray, float]:
    n = np.arange(length)
    if length == FRAME:
        # periodic Hann: the 50 %-overlap frames then sum to a constant
        w = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / length)
    else:
        w = np.sin(np.pi * (n + 0.5) / length) ** 2
    w.setflags(write=False)
    return w, float(np.sum(w * w))


@lru_cache(maxsize=64)
def frame_weights(length: int) -> np.ndarray:
    """Weight of each analysis frame of a chunk of ``length`` samples in its average.

    ``sin(pi * centre / length)**2`` per frame, scaled to sum to the number of
    frames; ``(n_frames,)`` float64, all 1 for a single frame.
    """
    starts = np.asarray(frame_starts(length), dtype=np.float64)
    if len(starts) == 1:
        w = np.ones(1)
    else:
        w = np.sin(np.pi * (starts + FRAME / 2.0) / length) ** 2
        w *= len(w) / w.sum()
    w.setflags(write=False)
    return w


def hop_for(length: int) -> int:
    """Hop [samples] between the analysis frames of a chunk of ``length`` samples."""
    return LONG_HOP if length >= LONG_CHUNK else HOP


@lru_cache(maxsize=64)
def frame_starts(length: int) -> Tuple[int, ...]:
    """Start offsets [samples] of the analysis frames of a chunk of ``length`` samples."""
    if length <= FRAME:
        return (0,)
    starts = list(range(0, length - FRAME + 1, hop_for(length)))
    if starts[-1] != length - FRAME:
        starts.append(length - FRAME)
    return tuple(starts)


@lru_cache(maxsize=64)
def _frame_plan(length: int) -> Tuple[int, bool]:
    """(number of frames, whether they all sit on the hop grid) for ``length`` >= FRAME."""
    return len(frame_starts(length)), (length - FRAME) % hop_for(length) == 0


def analysis_frames(samples: np.ndarray) -> Tuple[np.ndarray, float]:
    """Windowed analysis frames of one chunk.

    :param samples: mono samples [FS], shape ``(L,)`` with L >= 1.
    :returns: ``(frames, norm)``: float64 ``(n_frames, FRAME)`` windowed and
        zero padded to FRAME, and ``sum(w**2)`` of the window used.
    """
    length = samples.shape[-1]
    if length >= FRAME:
        n, on_grid = _frame_plan(length)
        w, norm = _window(FRAME)
        if n == 1:
            return (samples[:FRAME] * w)[None, :], norm
        hop = hop_for(length)
        if on_grid and samples.flags.c_contiguous and samples.ndim == 1:
            # LightShowPi's chunk sizes land on the hop grid: a zero-copy strided view
            # built directly (sliding_window_view costs more than the FFT of a frame)
            step = samples.strides[0]
            view = np.ndarray((n, FRAME), samples.dtype, samples, 0, (hop * step, step))
            return view * w, norm
        starts = frame_starts(length)
        view = np.lib.stride_tricks.sliding_window_view(samples, FRAME)
        regular = view[::hop]          # a strided view: no copy
        if len(regular) == len(starts):
            return regular * w, norm
        return np.concatenate([regular, view[-1:]]) * w, norm
    w, norm = _window(length)
    frames = np.zeros((1, FRAME))
    frames[0, :length] = samples * w
    return frames, norm


def power_sum(samples: np.ndarray, engine: Optional[PowerEngine] = None) -> Tuple[np.ndarray, float]:
    """Summed frame powers of one mono chunk, before normalisation.

    :param samples: mono samples, shape ``(L,)`` with L >= 1 (any scale).
    :returns: ``(total, divisor)``: float64 ``(513,)`` weighted sum of ``|X[k]|**2``
        over the analysis frames (:func:`frame_weights`), and ``n_frames * sum(w**2)``;
        the Welch power is ``total / divisor``. ``total`` is all zero iff the frames hold no
        energy (the only sample no frame weighs is sample 0 of a chunk of
        L >= 1024, where the periodic Hann window is 0).
    """
    frames, norm = analysis_frames(samples)
    n = frames.shape[0]
    if engine is not None:
        power = engine(frames)
        return (np.dot(frame_weights(samples.shape[-1]), power) if n > 1 else power[0]), n * norm
    # re**2 and im**2 squared in place, summed over frames by one dot product, then each
    # pair added: no square root (abs) and no axis reduction, the slow parts (bench)
    v = np.fft.rfft(frames, axis=-1).view(np.float64)
    np.square(v, out=v)
    pairs = np.dot(frame_weights(samples.shape[-1]), v) if n > 1 else v[0]
    return pairs[0::2] + pairs[1::2], n * norm


def _log10_power(total: np.ndarray, factor: float) -> np.ndarray:
    # normalisation and the [FS] scale in one multiply, in place on the caller's array
    total *= factor
    total += EPS
    # (a float32 out= with casting measured slower than this in-place log + astype)
    return np.log10(total, out=total).astype(np.float32)


def log_power(samples: np.ndarray, engine: Optional[PowerEngine] = None) -> np.ndarray:
    """The feature frame of one mono chunk.

    :param samples: mono samples [FS], shape ``(L,)``, any L >= 1.
    :param engine: power-spectrum engine (default numpy; the Pi's GPU path
        passes :class:`lightshowpi_autoencoder.gpu_fft.GpuPower`).
    :returns: float32 ``(513,)`` log10 power [log10 FS**2] on this audio's own
        bin grid (``k * rate / 1024`` Hz).
    """
    if samples.shape[-1] == 0:
        return np.full(N_BINS, FLOOR, dtype=np.float32)
    total, divisor = power_sum(samples, engine)
    return _log10_power(total, 1.0 / divisor)


@lru_cache(maxsize=16)
def rate_map(audio_rate: float, model_rate: float) -> Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Interpolation plan from the audio's bin grid to the model's.

    :returns: ``None`` when the rates are equal, else ``(lo, frac, above)``:
        model bin k reads ``(1-frac)*x[lo] + frac*x[lo+1]`` and bins in
        ``above`` (beyond the audio's Nyquist) read ``FLOOR``.
    """
    if float(audio_rate) == float(model_rate):
        return None
    pos = np.arange(N_BINS) * (float(model_rate) / float(audio_rate))
    above = np.nonzero(pos > N_BINS - 1)[0]
    pos = np.minimum(pos, N_BINS - 1)
    lo = np.minimum(np.floor(pos).astype(np.intp), N_BINS - 2)
    frac = pos - lo
    return lo, frac, above


def to_model_rate(logp: np.ndarray, audio_rate: float, model_rate: float) -> np.ndarray:
    """Map log power on the audio's bin grid onto the model's bin grid.

    :param logp: ``(..., 513)`` log10 power at ``audio_rate`` [Hz].
    :returns: ``(..., 513)`` float32 log10 power at the model's bin frequencies.
    """
    plan = rate_map(float(audio_rate), float(model_rate))
    if plan is None:
        return logp
    lo, frac, above = plan
    out = logp[..., lo] * (1.0 - frac) + logp[..., lo + 1] * frac
    out[..., above] = FLOOR
    return out.astype(np.float32)


def chunk_features(data: bytes | np.ndarray, channels: int, audio_rate: float,
                   model_rate: Optional[float] = None,
                   engine: Optional[PowerEngine] = None) -> Optional[np.ndarray]:
    """Interleaved int16 chunk -> model input frame.

    :param data: one chunk as LightShowPi reads it (bytes) or an int16 array.
    :param channels: interleaved channels in ``data`` (1 or 2).
    :param audio_rate: sample rate of ``data`` [Hz].
    :param model_rate: sample rate the model was trained at [Hz] (default:
        ``audio_rate``).
    :returns: float32 ``(513,)``, or ``None`` for a digitally silent or empty
        chunk, i.e. no energy in its analysis frames (LightShowPi shows zeros
        for those).
    """
    mono, scale = _mono_sum(data, channels)
    if mono.shape[0] == 0:
        return None
    total, divisor = power_sum(mono, engine)
    # silent = no energy in any frame; the DC sum is nonzero for nearly every sound, so
    # the full test (513 sums, cheaper than every sample) runs only when it is zero
    if total[0] == 0.0 and not total.any():
        return None
    logp = _log10_power(total, scale * scale / divisor)
    if model_rate is None or model_rate == audio_rate:   # the usual case: no call at all
        return logp
    return to_model_rate(logp, audio_rate, model_rate)


def _rfft_direct() -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``f(frames, out)`` -> ``np.fft.rfft(frames, axis=-1)`` for float64 ``(n, 1024)``, bit for bit.

    numpy 2's ``rfft`` spends ~5 us in Python (norm, dtype and shape handling) before
    its pocketfft ufunc, about a third of a 3-frame chunk's FFT: the ufunc is called
    directly, into the caller's buffer, once it has given exactly ``np.fft.rfft``'s
    numbers on a test signal. Any other numpy (1.x calls pocketfft with little
    overhead) or any doubt: ``np.fft.rfft`` itself.
    """
    def public(frames: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.fft.rfft(frames, axis=-1)
    try:
        from numpy.fft import _pocketfft_umath as pfu   # numpy >= 2.0
        ufunc = pfu.rfft_n_even

        def direct(frames: np.ndarray, out: np.ndarray) -> np.ndarray:
            return ufunc(frames, 1, out=out)
        test = np.random.default_rng(0).normal(size=(3, FRAME))
        if np.array_equal(direct(test, np.empty((3, N_BINS), complex)),
                          np.fft.rfft(test, axis=-1)):
            return direct
    except Exception:   # private numpy module moved or changed: the public call
        pass
    return public


_RFFT: Optional[Callable[[np.ndarray, np.ndarray], np.ndarray]] = None


def clip_ufunc():
    """numpy's ``clip`` ufunc: ``np.minimum(np.maximum(x, lo), hi)`` in one call (``np.clip``
    itself goes through two Python wrappers first)."""
    core = getattr(np, "_core", None)       # numpy 2 (np.core warns there)
    umath = getattr(core, "umath", None) if core is not None else None
    return getattr(umath if umath is not None else np.core.umath, "clip")


class _Plan:
    """Buffers and constants for chunks of one length (samples per channel)."""

    def __init__(self, length: int, channels: int) -> None:
        self.length = length
        self.channels = channels
        self.count = length * channels          # int16 values in a chunk
        self.nbytes = 2 * self.count
        # the same expressions as _mono_sum's
        self.scale = (1.0 / 32768.0 if channels == 1 else 0.5 / 32768.0 if channels == 2
                      else 1.0 / (32768.0 * channels))
        self.pcm64 = np.empty(self.count) if channels == 2 else None
        self.mono = np.empty(length)
        if length >= FRAME:
            n, _on_grid = _frame_plan(length)
            w, norm = _window(FRAME)
        else:
            n = 1
            w, norm = _window(length)
        self.n, self.window = n, w
        self.frames = np.zeros((n, FRAME))
        self.view: Optional[np.ndarray] = None
        self.whole = False                      # the view holds every frame
        if length >= FRAME and n > 1:
            hop = hop_for(length)
            step = self.mono.strides[0]
            regular = len(range(0, length - FRAME + 1, hop))
            # the frames on the hop grid: a strided view of the mono buffer (no copy)
            self.view = np.ndarray((regular, FRAME), np.float64, self.mono, 0, (hop * step, step))
            self.whole = regular == n
        self.weights = frame_weights(length) if length >= FRAME else np.ones(1)
        self.spec = np.empty((n, N_BINS), complex)
        self.spec64 = self.spec.view(np.float64)     # (n, 1026): re, im, re, im, ...
        self.pairs = np.empty(2 * N_BINS)
        # the same expression as chunk_features': scale * scale / divisor
        self.factor = self.scale * self.scale / (n * norm)


class ChunkFeatures:
    """:func:`chunk_features` for one stream of chunks, with its work buffers kept.

    ``f(data)`` gives exactly ``chunk_features(data, channels, audio_rate, model_rate,
    engine)``, bit for bit (tests/test_fast_path.py checks it on random and real chunks):
    the same numpy operations on the same values, in buffers made once per chunk length
    instead of once per chunk, with as few calls as those allow (each numpy call costs
    ~1 us of Python and dispatch here, as much as its arithmetic). It is the runtime's
    per-chunk path; training computes its frames with :func:`song_features`.

    The frame it returns is a buffer of this object, float32 ``(513,)``, overwritten by
    the next call (:attr:`frame` is the same buffer shaped ``(1, 513)``, a TFLite
    input). After a non-silent chunk :attr:`power` holds the chunk's power before the
    log, float64 ``(513,)`` [FS**2] (normalised, plus ``EPS``), on the audio's bin grid:
    at equal rates the frame is ``log10(power)`` rounded to float32.

    :param channels: interleaved channels of the chunks (1, 2, ...).
    :param audio_rate: sample rate of the chunks [Hz].
    :param model_rate: the model's sample rate [Hz] (default ``audio_rate``).
    :param engine: power-spectrum engine (default numpy).
    :param out: float32 ``(1, 513)`` array to use as :attr:`frame` (an encoder's input
        tensor, which then needs no copy); default a new one.
    """

    def __init__(self, channels: int, audio_rate: float, model_rate: Optional[float] = None,
                 engine: Optional[PowerEngine] = None, out: Optional[np.ndarray] = None) -> None:
        global _RFFT
        if channels < 1:
            raise ValueError("channels must be >= 1, got %r" % (channels,))
        self.channels = int(channels)
        self.audio_rate = float(audio_rate)
        self.model_rate = self.audio_rate if model_rate is None else float(model_rate)
        self.remap = self.model_rate != self.audio_rate
        self.engine = engine
        self.power = np.zeros(N_BINS)
        if out is not None and (out.shape != (1, N_BINS) or out.dtype != np.float32):
            raise ValueError("out must be float32 (1, %d), not %s %s" % (N_BINS, out.dtype, out.shape))
        self.frame = np.zeros((1, N_BINS), np.float32) if out is None else out
        if _RFFT is None:
            _RFFT = _rfft_direct()
        self._rfft = _RFFT
        self._reset()

    def _reset(self) -> None:
        self._x = self.frame[0]
        #: :attr:`power` without bin 0 (DC), a view
        self.power_ac = self.power[1:]
        self._plans: dict = {}
        self._last: Optional[_Plan] = None

    def __getstate__(self) -> dict:
        # views into buffers (a plan's frames, the frame's row) would point into the
        # original's memory in a copy: copies (copy.deepcopy, pickle) make them afresh
        state = dict(self.__dict__)
        for key in ("_x", "power_ac", "_plans", "_last"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._reset()

    def _plan(self, length: int) -> _Plan:
        plan = self._plans.get(length)
        if plan is None:
            if len(self._plans) >= 8:     # a stream has one chunk length (and a last, shorter one)
                self._plans.clear()
            plan = self._plans[length] = _Plan(length, self.channels)
        return plan

    def _samples(self, data: Any) -> Tuple[np.ndarray, Optional[_Plan]]:
        """int16 samples of whole frames of any chunk ``chunk_features`` takes, and their plan."""
        channels = self.channels
        if isinstance(data, np.ndarray):
            pcm = np.asarray(data, dtype=np.int16).reshape(-1)
            count = len(pcm) - len(pcm) % channels
            pcm = pcm[:count]
        else:
            if not isinstance(data, (bytes, bytearray)):
                data = memoryview(data).cast("B")
            count = len(data) // (2 * channels) * channels
            pcm = np.frombuffer(data, dtype=np.int16, count=count)
        return pcm, (self._plan(count // channels) if count else None)

    def __call__(self, data: Any) -> Optional[np.ndarray]:
        """One chunk (as :func:`chunk_features` takes it) -> float32 ``(513,)`` (this
        object's buffer), or ``None`` for a silent or empty chunk."""
        plan = self._last
        if type(data) is bytes and plan is not None and len(data) == plan.nbytes:
            pcm = np.frombuffer(data, np.int16)       # LightShowPi's chunks: all but the last
        else:
            pcm, plan = self._samples(data)
            if plan is None:
                return None
            self._last = plan
        mono = plan.mono
        # the integer sums of the channels, exact in float64 (as _mono_sum)
        if plan.pcm64 is not None:
            np.add(pcm[0::2], pcm[1::2], out=mono, dtype=np.float64)
        elif plan.channels == 1:
            mono[:] = pcm
        else:
            np.sum(pcm.reshape(plan.length, plan.channels), axis=1, dtype=np.float64, out=mono)
        # analysis frames times the window (as analysis_frames)
        frames = plan.frames
        if plan.whole:
            np.multiply(plan.view, plan.window, out=frames)
        else:
            self._frame_rest(plan)
        # frame powers summed with the frame weights (as power_sum)
        total = self.power
        if self.engine is None:
            spec = self._rfft(frames, plan.spec)
            v = plan.spec64 if spec is plan.spec else spec.view(np.float64)
            np.square(v, out=v)
            if plan.n > 1:
                pairs = np.dot(plan.weights, v, out=plan.pairs)
                np.add(pairs[0::2], pairs[1::2], out=total)
            else:
                np.add(v[0, 0::2], v[0, 1::2], out=total)
        else:
            power = self.engine(frames)
            if plan.n > 1:
                np.dot(plan.weights, power, out=total)
            else:
                total[:] = power[0]
        if total[0] == 0.0 and not total.any():
            return None
        # normalise and log (as _log10_power), keeping the linear power; the float64 log
        # is rounded to float32 on its way out, as astype does
        total *= plan.factor
        total += EPS
        x = self._x
        np.log10(total, out=x, casting="same_kind")
        if self.remap:
            x[:] = to_model_rate(x, self.audio_rate, self.model_rate)
        return x

    @staticmethod
    def _frame_rest(plan: _Plan) -> None:
        """The windowed frames of a plan whose hop grid leaves a tail, or of one frame."""
        frames, w, mono = plan.frames, plan.window, plan.mono
        if plan.view is not None:
            np.multiply(plan.view, w, out=frames[:-1])
            np.multiply(mono[-FRAME:], w, out=frames[-1])
        elif plan.length >= FRAME:
            np.multiply(mono[:FRAME], w, out=frames[0])
        else:
            np.multiply(mono, w, out=frames[0, :plan.length])


def song_features(pcm: np.ndarray, audio_rate: float, chunk_size: int,
                  model_rate: Optional[float] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Feature frames of a whole decoded song, chunk by chunk as LightShowPi reads it.

    :param pcm: int16 ``(frames, channels)`` (or ``(frames,)`` for mono).
    :param audio_rate: sample rate [Hz]; ``chunk_size`` [frames per chunk].
    :returns: ``(features, silent)``: float32 ``(n_chunks, 513)`` and a bool
        ``(n_chunks,)`` mask of silent chunks (their rows read ``FLOOR``).
    """
    pcm = np.asarray(pcm)
    if pcm.ndim == 1:
        pcm = pcm[:, None]
    channels = pcm.shape[1]
    n_chunks = -(-pcm.shape[0] // chunk_size)
    feats = np.full((n_chunks, N_BINS), FLOOR, dtype=np.float32)
    silent = np.zeros(n_chunks, dtype=bool)
    for i in range(n_chunks):
        row = chunk_features(pcm[i * chunk_size:(i + 1) * chunk_size], channels,
                             audio_rate, model_rate)
        if row is None:
            silent[i] = True
        else:
            feats[i] = row
    return feats, silent


def total_log_power(logp: np.ndarray) -> np.ndarray:
    """The loudness of feature frames: log10 of the power summed over bins 1..512.

    :param logp: ``(..., 513)`` log10 power [log10 FS**2] (bin 0, DC, is left out).
    :returns: float64 ``(...)`` [log10 FS**2]: 0 for a full-scale sine, -12 for silence.
    """
    x = np.asarray(logp, dtype=np.float64)[..., 1:]
    top = x.max(axis=-1)
    # the loudest bin factored out: no overflow, and exact for a single tone
    return top + np.log10(np.sum(10.0 ** (x - top[..., None]), axis=-1))


def bin_frequencies(rate: float) -> np.ndarray:
    """Centre frequency [Hz] of each of the 513 bins at ``rate`` [Hz]."""
    return np.arange(N_BINS) * (float(rate) / FRAME)


__all__: Sequence[str] = (
    "FRAME", "HOP", "LONG_HOP", "LONG_CHUNK", "N_BINS", "EPS", "FLOOR", "FEATURE_VERSION", "numpy_power",
    "pcm_to_mono", "hop_for", "frame_starts", "frame_weights", "analysis_frames", "power_sum", "log_power", "rate_map",
    "to_model_rate", "chunk_features", "ChunkFeatures", "clip_ufunc", "song_features",
    "total_log_power", "bin_frequencies",
)
