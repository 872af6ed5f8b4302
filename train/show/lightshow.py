"""LightShowPi's own stages, reimplemented offline from its documented algorithm.

Written from reading LightShowPi's ``py/fft.py`` (``FFT.calculate_levels``,
``calculate_channel_frequency``), ``py/synchronized_lights.py``
(``save_cache``, ``update_lights``) and ``py/hardware_controller.py``
(``Channel.set_action``) in both the original (LightShowPi-EZ) and the Neo
fork; no code is copied. The stages:

1. **Bucket levels** (the frequency-bucket mapping stage, numpy path): for
   each chunk of ``chunk_size`` frames, take the left channel (every other
   interleaved sample), multiply by a float32 symmetric Hanning window of the
   chunk's length, take the float64 real FFT, drop its last (Nyquist) bin,
   power ``|X|**2``, then for each channel sum the power over bins
   ``int(chunk_size * f_lo / rate) <= k < int(chunk_size * f_hi / rate)`` and
   take ``log10`` of the sum; a band whose sum is 0 (or empty) reads 0, and a
   chunk whose windowed samples are all zero reads all zeros.
   The band edges are log-spaced: ``f_0 = min_frequency`` and
   ``f_{i+1} = f_i * 10 ** (0.3 * octaves_per_channel)`` with
   ``octaves_per_channel = log2(max / min) / channels``. Because
   ``10 ** 0.3`` is slightly less than 2, the top edge lands a little below
   ``max_frequency`` (14664 Hz for 20-15000 Hz and 8 channels), as in
   LightShowPi.
2. **Cache statistics**: per channel, mean and (population) standard
   deviation of the *positive* levels of the whole song, stored as float32.
3. **Brightness**: ``clip((level - mean + sd_low*std) / ((sd_low+sd_high)*std)
   * (1 - attenuate_pct/100), 0, 1)`` (attenuation before the clip: a loud
   chunk still reaches 1), NaN -> 0, then an optional decay
   (a light falls by at most ``decay_factor`` per chunk).
4. **Pins**: an ``onoff`` pin is ON when brightness > 0.5; a ``pwm`` pin
   shows the brightness (quantised to ``int(b * pwm_range)`` steps).

Every function is pure numpy. Shapes: ``(n_chunks, channels)`` rows.
"""
from __future__ import annotations

from typing import Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

#: ``config/defaults.cfg`` of the original LightShowPi (Neo uses chunk_size 4096).
CHUNK_SIZE = 2048
NEO_CHUNK_SIZE = 4096
MIN_FREQUENCY = 20.0
MAX_FREQUENCY = 15000.0
SD_LOW = 0.5
SD_HIGH = 0.75
#: What ``update_lights`` assumes before a song has statistics (first play, audio-in).
FIRST_PLAY_MEAN = 12.0
FIRST_PLAY_STD = 1.5
#: ``[hardware] pwm_range`` default.
PWM_RANGE = 100

Setting = Union[int, Sequence[float]]


def _custom(value: Setting) -> Optional[List[float]]:
    """LightShowPi's ``0`` / empty means "not set"; otherwise a list."""
    if value is None:
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return None if value == 0 else [value]
    items = list(value)
    return items or None


def frequency_limits(num_bins: int = 8, min_frequency: float = MIN_FREQUENCY,
                     max_frequency: float = MAX_FREQUENCY,
                     custom_channel_mapping: Setting = 0,
                     custom_channel_frequencies: Setting = 0) -> List[Tuple[float, float]]:
    """Band edges [Hz] of each of the ``num_bins`` light channels, ``[(lo, hi), ...]``.

    With a ``custom_channel_mapping`` of exactly ``num_bins`` entries (1-based)
    only ``max(mapping)`` bands are computed and each pin gets its mapped band.
    ``custom_channel_frequencies`` (at least bands+1 edges) replaces the
    log-spaced edges.
    """
    mapping = _custom(custom_channel_mapping)
    if mapping is not None and len(mapping) != num_bins:
        mapping = None  # LightShowPi ignores a mapping of the wrong length
    bands = int(max(mapping)) if mapping is not None else int(num_bins)
    custom = _custom(custom_channel_frequencies)
    if custom is not None and len(custom) >= bands + 1:
        edges = [float(f) for f in custom]
    else:
        octaves = np.log(max_frequency / min_frequency) / np.log(2)
        per_channel = octaves / bands
        # LightShowPi's step: 10**(3/10 * octaves_per_channel), ~2**octaves_per_channel
        step = 10 ** (3 / (10 * (1 / per_channel)))
        edges = [min_frequency]
        for _ in range(num_bins):
            edges.append(edges[-1] * step)
    store = [(edges[i], edges[i + 1]) for i in range(bands)]
    if mapping is None:
        return store
    return [store[int(c) - 1] for c in mapping]


def band_bins(limits: Sequence[Tuple[float, float]], chunk_size: int,
              rate: float) -> np.ndarray:
    """FFT bin range ``[lo, hi)`` of each band, int ``(channels, 2)``.

    ``int(chunk_size * f / rate)`` for each edge, as the numpy path indexes the
    spectrum (it does not widen an empty band: such a band always reads 0).
    """
    return np.array([[int(chunk_size * lo / rate), int(chunk_size * hi / rate)]
                     for lo, hi in limits], dtype=np.intp).reshape(-1, 2)


def _left(pcm: np.ndarray, input_channels: int) -> np.ndarray:
    """The samples LightShowPi analyses: every ``input_channels``-th interleaved int16."""
    pcm = np.asarray(pcm, dtype=np.int16)
    flat = pcm.reshape(-1)  # interleaved, as readframes() hands it over
    return flat[::2] if input_channels == 2 else flat


def chunk_levels(samples: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """Levels of one chunk's analysed samples (already de-interleaved).

    :param samples: int16 ``(n,)`` left-channel samples of the chunk.
    :param bins: ``(channels, 2)`` from :func:`band_bins`.
    :returns: float64 ``(channels,)`` log10 band power [log10 LSB**2], zeros
        for a chunk whose windowed samples are all zero.
    """
    n = samples.shape[0]
    out = np.zeros(bins.shape[0])
    if n == 0:
        return out
    # float32 window, float32 product, float64 FFT: what LightShowPi's numpy<2 does
    windowed = samples * np.hanning(n).astype(np.float32)
    if not windowed.any():
        return out
    spectrum = np.fft.rfft(windowed.astype(np.float64))[:-1]
    power = np.abs(spectrum) ** 2
    for i, (lo, hi) in enumerate(bins):
        total = np.sum(power[lo:hi])
        if total:
            out[i] = np.log10(total)
    return out


def bucket_levels(pcm_int16: np.ndarray, rate: float, chunk_size: int = CHUNK_SIZE,
                  num_bins: int = 8, min_frequency: float = MIN_FREQUENCY,
                  max_frequency: float = MAX_FREQUENCY, custom_channel_mapping: Setting = 0,
                  custom_channel_frequencies: Setting = 0,
                  input_channels: int = 2) -> np.ndarray:
    """LightShowPi's frequency-bucket levels of a whole decoded song.

    :param pcm_int16: int16 ``(frames, channels)`` (or ``(frames,)``).
    :param rate: sample rate [Hz]; ``chunk_size`` [frames per chunk].
    :param input_channels: how LightShowPi de-interleaves: 2 in file mode
        (even samples = left channel; note a mono file then loses every
        other sample, as in LightShowPi), 1 for audio-in.
    :returns: float64 ``(n_chunks, num_bins)``, one row per chunk of
        ``chunk_size`` frames (the last chunk may be shorter), the rows a
        ``.sync`` cache holds after its two statistics rows.
    """
    pcm = np.asarray(pcm_int16, dtype=np.int16)
    if pcm.ndim == 1:
        pcm = pcm[:, None]
    limits = frequency_limits(num_bins, min_frequency, max_frequency,
                              custom_channel_mapping, custom_channel_frequencies)
    bins = band_bins(limits, chunk_size, rate)
    n_chunks = -(-pcm.shape[0] // chunk_size)
    rows = np.zeros((n_chunks, len(limits)))
    for i in range(n_chunks):
        samples = _left(pcm[i * chunk_size:(i + 1) * chunk_size], input_channels)
        rows[i] = chunk_levels(samples, bins)
    return rows


def cache_stats(rows: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per-channel ``(mean, std)`` as ``save_cache`` stores them, float32 ``(channels,)``.

    Only positive levels count (silent chunks and empty bands read 0). The
    std is the population std (ddof 0). A channel with no positive level gets
    NaN, which :func:`brightness` turns into 0 (always off), as LightShowPi.
    """
    rows = np.asarray(rows, dtype=np.float64)
    mean = np.full(rows.shape[1], np.nan, dtype=np.float32)
    std = np.full(rows.shape[1], np.nan, dtype=np.float32)
    for c in range(rows.shape[1]):
        values = rows[rows[:, c] > 0, c]
        if values.size:
            mean[c] = np.mean(values)
            std[c] = np.std(values)
    return mean, std


def first_play_stats(channels: int) -> Tuple[np.ndarray, np.ndarray]:
    """``(mean, std)`` LightShowPi uses with no cache: 12 and 1.5 for every channel."""
    return (np.full(channels, FIRST_PLAY_MEAN, dtype=np.float32),
            np.full(channels, FIRST_PLAY_STD, dtype=np.float32))


def brightness(rows: np.ndarray, mean: np.ndarray, std: np.ndarray, sd_low: float = SD_LOW,
               sd_high: float = SD_HIGH, attenuate_pct: float = 0.0,
               decay_factor: float = 0.0) -> np.ndarray:
    """``update_lights``: level rows -> brightness in [0, 1], float64 ``(n_chunks, channels)``.

    ``brightness = clip((row - mean + sd_low*std) / ((sd_low + sd_high)*std)
    * (1 - attenuate_pct/100), 0, 1)``; NaN -> 0. With ``decay_factor > 0`` a
    light that drops is held at its previous brightness minus
    ``decay_factor`` per chunk (never below 0) unless the new value is higher.
    """
    rows = np.asarray(rows, dtype=np.float64)
    mean = np.asarray(mean)
    std = np.asarray(std)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = (rows - mean + std * sd_low) / (std * (sd_low + sd_high)) \
            * (1.0 - attenuate_pct / 100.0)
    b = np.nan_to_num(np.clip(b, 0.0, 1.0))
    if decay_factor > 0:
        held = np.zeros(b.shape[1])
        for i in range(b.shape[0]):
            held = np.where(held <= b[i], b[i], held)
            b[i] = held
            held = np.where(held - decay_factor > 0, held - decay_factor, 0.0)
    return b


def lights_on(bright: np.ndarray, mode: str = "onoff", pwm_range: Optional[int] = None,
              always_on: Iterable[int] = (), always_off: Iterable[int] = (),
              inverted: Iterable[int] = ()) -> np.ndarray:
    """What each pin shows for a brightness array ``(n_chunks, channels)``.

    :param mode: ``"onoff"``: bool, ON when brightness > 0.5; ``"pwm"``: the
        brightness itself (float), quantised to ``int(b*pwm_range)/pwm_range``
        when ``pwm_range`` is given (LightShowPi's soft PWM, default range 100).
    :param always_on, always_off, inverted: 1-based channel numbers
        (``[lightshow] always_on_channels`` ...): off wins over on, inversion
        is applied after them, as ``Channel.set_action`` with overrides.
    """
    b = np.array(bright, dtype=np.float64, copy=True)
    cols = b.shape[-1]
    for chans, value in ((always_on, 1.0), (always_off, 0.0)):
        idx = [c - 1 for c in chans if 1 <= c <= cols]
        b[..., idx] = value
    inv = [c - 1 for c in inverted if 1 <= c <= cols]
    b[..., inv] = 1.0 - b[..., inv]
    if mode == "onoff":
        return b > 0.5
    if mode == "pwm":
        if pwm_range:
            return np.floor(b * pwm_range) / pwm_range
        return b
    raise ValueError("pin mode must be 'onoff' or 'pwm', got %r" % (mode,))


def chunk_seconds(chunk_size: int, rate: float) -> float:
    """Duration of one row [s]."""
    return float(chunk_size) / float(rate)


def read_sync(path: str) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A LightShowPi ``.sync`` cache -> ``(rows, mean, std)`` (row 0 is std, row 1 mean)."""
    matrix = np.loadtxt(path, ndmin=2)
    return matrix[2:], matrix[1], matrix[0]


__all__ = ("CHUNK_SIZE", "NEO_CHUNK_SIZE", "MIN_FREQUENCY", "MAX_FREQUENCY", "SD_LOW", "SD_HIGH",
           "FIRST_PLAY_MEAN", "FIRST_PLAY_STD", "PWM_RANGE", "frequency_limits", "band_bins",
           "chunk_levels", "bucket_levels", "cache_stats", "first_play_stats", "brightness",
           "lights_on", "chunk_seconds", "read_sync")
