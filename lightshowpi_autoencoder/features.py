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
  L < ``LONG_CHUNK = 2048`` and ``LONG_HOP = 1024`` (no overlap) from 2048 on
  (LightShowPi's chunks: 2048 in the original, 4096 in Neo): overlap would
  cost 3 FFTs instead of 2 at 2048 and 7 instead of 4 at 4096, the largest
  part of the plugin's per-chunk cost, whose target is LightShowPi's own
  ``calculate_levels``. The expected power of a stationary signal is the
  same either way. At 2048 the two frames sit symmetric in the chunk and
  weigh the same.
* Chunk of 0 < L < 1024 samples: one frame, a Hann window of length L
  sampled at the sample centres (``sin(pi*(n+0.5)/L)**2``, never all zero,
  even for L = 1), zero padded to 1024 and normalised by its own ``sum(w**2)``.
* ``feature = log10(power + EPS)`` with ``EPS = 1e-12`` (-120 dB FS).
* A model records the sample rate it was trained at; the spectrum of audio at
  another rate is mapped onto the model's bin frequencies ``k * rate / 1024``
  [Hz] by linear interpolation of the log power; bins above the audio's
  Nyquist frequency read ``log10(EPS)``.

Everything here is a pure function over numpy arrays (shapes are given as ``(..., n)``
where leading axes are batch axes). :class:`lightshowpi_autoencoder.feature_stream.ChunkFeatures`
gives the same numbers as :func:`chunk_features`, bit for bit, for a stream of chunks with
its buffers kept (the runtime's per-chunk path); it implements this definition, it does
not change it.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, Optional, Sequence, Tuple

import numpy as np

FRAME = 1024
HOP = 512
LONG_HOP = 1024
LONG_CHUNK = 2048
N_BINS = FRAME // 2 + 1
EPS = 1e-12
FLOOR = float(np.log10(EPS))
#: Bump when any number this module produces changes: caches and models key on it.
FEATURE_VERSION = 4

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


@lru_cache(maxsize=16)
def band_plan(per_octave: float) -> Tuple[np.ndarray, np.ndarray]:
    """``(starts, 1 / counts)`` of the log-frequency bands, for ``np.add.reduceat`` over a
    513-bin frame.

    Bins 1..512 (DC left out) in bands ``per_octave`` wide on a log-frequency axis: band
    edges at ``round(2 ** (j / per_octave))`` [bins], at least one bin each, so the lowest
    bands are single bins (the FFT's own resolution, 43 Hz at 44.1 kHz) and the last one
    ends at bin 512. At 6 per octave: 43 bands. Read-only int ``(n_bands,)`` and float64
    ``(n_bands,)`` arrays.
    """
    n = N_BINS - 1
    edges = np.unique(np.round(2.0 ** np.arange(0, np.log2(n) + 1e-9, 1.0 / per_octave)).astype(int))
    starts = edges[edges < n].astype(np.intp)
    inv = 1.0 / np.diff(np.append(starts, n + 1))
    starts.setflags(write=False)
    inv.setflags(write=False)
    return starts, inv


def band_means(logp: np.ndarray, per_octave: float) -> np.ndarray:
    """The spectrum on a log-frequency axis: mean log10 power of each band (:func:`band_plan`).

    What a model made with ``bands_per_octave`` reads, in training and in the runtime
    (``feature_stream.BandMeans`` gives these numbers bit for bit, frame by frame), and
    what the switching stage's onset test compares from chunk to chunk.

    :param logp: ``(..., 513)`` feature frames [log10 FS**2].
    :returns: float64 ``(..., n_bands)`` [log10 FS**2], summed in float64 bin by bin.
    """
    starts, inv = band_plan(float(per_octave))
    x = np.ascontiguousarray(logp, dtype=np.float64)
    return np.add.reduceat(x, starts, axis=-1) * inv


def encoder_input(logp: np.ndarray, per_octave: Optional[float]) -> np.ndarray:
    """What an encoder reads of feature frames ``(..., 513)``: the frames themselves
    (``per_octave`` None: a model that reads the bins) or their :func:`band_means`."""
    return logp if per_octave is None else band_means(logp, per_octave)


def encoder_input_size(per_octave: Optional[float]) -> int:
    """Values :func:`encoder_input` gives per frame: 513, or the number of bands."""
    return N_BINS if per_octave is None else len(band_plan(float(per_octave))[0])


def bin_frequencies(rate: float) -> np.ndarray:
    """Centre frequency [Hz] of each of the 513 bins at ``rate`` [Hz]."""
    return np.arange(N_BINS) * (float(rate) / FRAME)


__all__: Sequence[str] = (
    "FRAME", "HOP", "LONG_HOP", "LONG_CHUNK", "N_BINS", "EPS", "FLOOR", "FEATURE_VERSION", "numpy_power",
    "pcm_to_mono", "hop_for", "frame_starts", "frame_weights", "analysis_frames", "power_sum", "log_power", "rate_map",
    "to_model_rate", "chunk_features", "song_features",
    "total_log_power", "band_plan", "band_means", "encoder_input", "encoder_input_size",
    "bin_frequencies",
)
