"""What a listener hears, per stretch of time: the audio side of the show-quality metrics.

The viewer metrics of :mod:`train.show.metrics` compare the lights with the sound:
is a louder passage brighter, is the house dark while music plays, do
similar-sounding moments get similar lights. They need the sound described
over the same stretches of time as the lights, *from the audio itself*, never
from a method's own features. :class:`Listening` computes those descriptions
once per song, so scoring many shows of the same song is cheap.

Units: levels are dB FS (an RMS of 1.0 = full scale, int16 / 32768), times
are seconds from the song's start. A chunk ``i`` of ``chunk_size`` frames plays
from ``i * chunk_seconds``; a window ``[t, t + w)`` holds the chunks that
*start* inside it (LightShowPi sets the lights when a chunk starts to play).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Tuple

import numpy as np

#: loudness -> light: 1 s windows, hop 0.5 s, windows below -50 dB FS left out
LOUD_WINDOW, LOUD_HOP, LOUD_FLOOR_DB = 1.0, 0.5, -50.0
#: dark: chunks at or above -40 dB FS count as "music audible"
AUDIBLE_DB = -40.0
#: consistency: 0.5 s windows, hop 0.25 s, below -45 dB FS left out; 64 mel bands 30 Hz-16 kHz
SOUND_WINDOW, SOUND_HOP, SOUND_FLOOR_DB = 0.5, 0.25, -45.0
MEL_BANDS, MEL_LOW, MEL_HIGH = 64, 30.0, 16000.0
#: the STFT the mel spectrum is taken from: 2048 samples, hop 512 (46 / 11.6 ms at 44.1 kHz)
STFT_FRAME, STFT_HOP = 2048, 512


def mono(pcm: np.ndarray) -> np.ndarray:
    """int16 ``(frames, channels)`` or ``(frames,)`` -> float64 mono ``(frames,)`` [FS]."""
    x = np.asarray(pcm, dtype=np.float64) / 32768.0
    return x.mean(axis=1) if x.ndim == 2 else x


def power_cumsum(pcm: np.ndarray) -> np.ndarray:
    """Cumulative sum of the per-frame mean square over channels [FS**2], ``(frames + 1,)``.

    The RMS of frames ``[a, b)`` is ``sqrt((c[b] - c[a]) / (b - a))``: every
    window's level in O(1).
    """
    x = np.asarray(pcm, dtype=np.float64) / 32768.0
    sq = (x * x).mean(axis=1) if x.ndim == 2 else x * x
    return np.concatenate([[0.0], np.cumsum(sq)])


def span_db(csum: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """RMS level [dB FS] of frames ``[start, stop)`` (int arrays); -inf for empty or silent spans."""
    start = np.clip(np.asarray(start, dtype=np.int64), 0, len(csum) - 1)
    stop = np.clip(np.asarray(stop, dtype=np.int64), 0, len(csum) - 1)
    n = np.maximum(stop - start, 0)
    energy = np.maximum(csum[stop] - csum[start], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, 10.0 * np.log10(energy / np.maximum(n, 1)), -np.inf)


def windows(n_chunks: int, chunk_seconds: float, length: float, hop: float) -> Tuple[np.ndarray, np.ndarray]:
    """Windows ``[t, t + length)`` at ``t = 0, hop, 2 hop ...`` that fit in the show.

    :returns: ``(starts [s], chunk_ranges)``: float ``(w,)`` and int ``(w, 2)``,
        the chunks ``[lo, hi)`` starting inside each window (at least one).
    """
    duration = n_chunks * chunk_seconds
    starts = np.arange(0.0, max(duration - length, 0.0) + 1e-9, hop)
    lo = np.ceil(starts / chunk_seconds - 1e-9).astype(int)
    hi = np.ceil((starts + length) / chunk_seconds - 1e-9).astype(int)
    hi = np.maximum(np.minimum(hi, n_chunks), np.minimum(lo + 1, n_chunks))
    keep = lo < hi
    return starts[keep], np.stack([lo[keep], hi[keep]], axis=1)


@lru_cache(maxsize=8)
def mel_filterbank(rate: float, n_fft: int = STFT_FRAME, bands: int = MEL_BANDS,
                   low: float = MEL_LOW, high: float = MEL_HIGH) -> np.ndarray:
    """Triangular filters on the HTK mel scale, ``(bands, n_fft // 2 + 1)``.

    The top edge is ``min(high, rate / 2)`` [Hz]; each filter peaks at 1.
    """
    mel = lambda f: 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)      # noqa: E731
    hz = lambda m: 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)     # noqa: E731
    edges = hz(np.linspace(mel(low), mel(min(high, rate / 2.0)), bands + 2))
    freqs = np.arange(n_fft // 2 + 1) * (rate / n_fft)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None] - lo) / (mid - lo)
    down = (hi - freqs[None]) / (hi - mid)
    return np.maximum(0.0, np.minimum(up, down))


def log_mel(samples: np.ndarray, rate: float) -> Tuple[np.ndarray, np.ndarray]:
    """log10 mel power of mono ``samples`` [FS]: ``(frames (n, MEL_BANDS), centres [s] (n,))``."""
    n = max(0, (samples.shape[0] - STFT_FRAME) // STFT_HOP + 1)
    fb = mel_filterbank(float(rate))
    w = np.hanning(STFT_FRAME)
    out = np.empty((n, MEL_BANDS))
    for i in range(0, n, 1024):       # blocks: a long song's frames at once would take GBs
        k = min(1024, n - i)
        seg = samples[i * STFT_HOP:(i + k - 1) * STFT_HOP + STFT_FRAME]
        frames = np.lib.stride_tricks.sliding_window_view(seg, STFT_FRAME)[::STFT_HOP][:k] * w
        spec = np.fft.rfft(frames, axis=1)
        out[i:i + k] = np.log10((spec.real ** 2 + spec.imag ** 2) @ fb.T + 1e-10)
    centres = (np.arange(n) * STFT_HOP + STFT_FRAME / 2.0) / rate
    return out, centres


class Listening:
    """The sound of one song on the show's chunk grid, for the viewer metrics.

    :param pcm: int16 ``(frames, channels)`` (or ``(frames,)``).
    :param rate: [Hz]; ``chunk_size`` [frames]: the show's rows.
    :ivar chunk_db: RMS level of each chunk [dB FS], ``(n_chunks,)``.
    :ivar loud_chunks, loud_db: the 1 s loudness windows at or above
        ``LOUD_FLOOR_DB``: chunk ranges ``(w, 2)`` and levels [dB FS] ``(w,)``.
    :ivar sound_chunks, sound_times, sound: the 0.5 s consistency windows at
        or above ``SOUND_FLOOR_DB``: chunk ranges ``(v, 2)``, start times [s]
        ``(v,)`` and mean log-mel spectra z-scored per band over the song ``(v, 64)``.
    """

    def __init__(self, pcm: np.ndarray, rate: float, chunk_size: int) -> None:
        pcm = np.asarray(pcm)
        self.rate = float(rate)
        self.chunk_size = int(chunk_size)
        self.chunk_seconds = chunk_size / self.rate
        frames = pcm.shape[0]
        self.n_chunks = -(-frames // chunk_size)
        csum = power_cumsum(pcm)
        starts = np.arange(self.n_chunks) * chunk_size
        self.chunk_db = span_db(csum, starts, starts + chunk_size)

        t, rng = windows(self.n_chunks, self.chunk_seconds, LOUD_WINDOW, LOUD_HOP)
        db = span_db(csum, np.round(t * rate), np.round((t + LOUD_WINDOW) * rate))
        keep = db >= LOUD_FLOOR_DB
        self.loud_chunks, self.loud_db = rng[keep], db[keep]

        t, rng = windows(self.n_chunks, self.chunk_seconds, SOUND_WINDOW, SOUND_HOP)
        db = span_db(csum, np.round(t * rate), np.round((t + SOUND_WINDOW) * rate))
        keep = db >= SOUND_FLOOR_DB
        t, rng = t[keep], rng[keep]
        mel, centres = log_mel(mono(pcm), rate)
        # mean log-mel of the STFT frames centred in each window (the nearest frame if none)
        first = np.searchsorted(centres, t)
        last = np.searchsorted(centres, t + SOUND_WINDOW)
        csum_mel = np.vstack([np.zeros((1, MEL_BANDS)), np.cumsum(mel, axis=0)]) if len(mel) else None
        desc = np.zeros((len(t), MEL_BANDS))
        if csum_mel is not None:
            first = np.minimum(first, len(mel) - 1)
            last = np.maximum(last, first + 1)
            desc = (csum_mel[last] - csum_mel[first]) / (last - first)[:, None]
        sd = desc.std(axis=0) if len(desc) else np.ones(MEL_BANDS)
        self.sound = (desc - desc.mean(axis=0)) / np.where(sd > 1e-9, sd, 1.0) if len(desc) else desc
        self.sound_chunks, self.sound_times = rng, t


__all__ = ("LOUD_WINDOW", "LOUD_HOP", "LOUD_FLOOR_DB", "AUDIBLE_DB", "SOUND_WINDOW", "SOUND_HOP",
           "SOUND_FLOOR_DB", "MEL_BANDS", "MEL_LOW", "MEL_HIGH", "mono", "power_cumsum", "span_db",
           "windows", "mel_filterbank", "log_mel", "Listening")
