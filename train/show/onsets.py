"""Music onsets of a real song, from the audio alone: spectral flux on the plugin's
feature frames, then adaptive peak picking (:func:`detect_onsets`).

The show-quality rhythm score (:mod:`train.show.metrics`) matches the lights'
onsets against these when a song has no ground truth ("detector" onsets).
Independent of mir_eval and of any light-show method.
"""
from __future__ import annotations

from typing import List, Tuple

import numpy as np

from lightshowpi_autoencoder import features as F

#: Detector settings (frames are the plugin's 1024-sample analysis frames, hop 512).
#: Tuned on synthetic songs (F = 0.99 against their exact onsets, see tests) and
#: checked to give 3-8 onsets/s on the shared music.
DETECTOR = {"per_octave": 6, "range_db": 80.0, "pre_max": 3, "post_max": 3, "pre_avg": 10,
            "post_avg": 7, "delta": 0.15, "scale_quantile": 0.99, "min_gap": 0.03}


def _band_edges(rate: float, per_octave: int) -> np.ndarray:
    """Bin edges of log-spaced bands from 30 Hz to min(16 kHz, Nyquist), unique, >= 1 bin wide."""
    top = min(16000.0, rate / 2.0)
    n = int(np.floor(np.log2(top / 30.0) * per_octave))
    hz = 30.0 * 2.0 ** (np.arange(n + 1) / float(per_octave))
    edges = np.unique(np.round(hz * F.FRAME / rate).astype(int))
    return edges[edges <= F.N_BINS - 1]


def onset_strength(pcm: np.ndarray, rate: float, block: int = 2048) -> Tuple[np.ndarray, float]:
    """Spectral flux of a song on the plugin's feature frames.

    The song (int16 ``(frames, channels)``) is mixed to mono and cut into the
    feature module's frames: 1024 samples, periodic Hann, hop 512 (11.6 ms at
    44.1 kHz), power normalised as the features are. The power is summed into
    log-spaced bands (``per_octave`` per octave, 30 Hz - 16 kHz; averaging
    many bins keeps a noise floor from adding flux) and each band's
    ``log10(power)`` is clamped to ``range_db`` below the song's loudest band.
    The flux of frame t is ``sum_b max(0, L[t,b] - L[t-1,b])``.

    :returns: ``(flux (n_frames,), frame_rate [frames/s])``; frame t is
        centred at ``(t * 512 + 512) / rate`` [s].
    """
    mono = F.pcm_to_mono(np.asarray(pcm), 1 if np.ndim(pcm) == 1 else np.shape(pcm)[1])
    n_frames = max(0, (mono.shape[0] - F.FRAME) // F.HOP + 1)
    edges = _band_edges(rate, DETECTOR["per_octave"])
    logp = np.empty((n_frames, len(edges) - 1))
    for i in range(0, n_frames, block):
        k = min(block, n_frames - i)
        seg = mono[i * F.HOP:(i + k - 1) * F.HOP + F.FRAME]
        # the detector keeps hop 512 whatever the segment length (the features switch to a
        # longer hop for long chunks): its own strided frames, the features' window
        w, norm = F._window(F.FRAME)
        frames = np.lib.stride_tricks.sliding_window_view(seg, F.FRAME)[::F.HOP][:k] * w
        power = F.numpy_power(frames) / norm
        # reduceat sums edges[j]:edges[j+1]; its last column (edges[-1]:end) is not a band
        logp[i:i + k] = np.log10(np.add.reduceat(power, edges, axis=1)[:, :-1] + F.EPS)
    if n_frames == 0:
        return np.zeros(0), rate / F.HOP
    np.maximum(logp, logp.max() - DETECTOR["range_db"] / 10.0, out=logp)
    flux = np.zeros(n_frames)
    flux[1:] = np.maximum(np.diff(logp, axis=0), 0.0).sum(axis=1)
    return flux, rate / F.HOP


def pick_peaks(flux: np.ndarray, frame_rate: float) -> np.ndarray:
    """Frame indices of onset peaks in ``flux`` (adaptive threshold).

    Frame t is an onset when it is the maximum of ``flux[t-pre_max : t+post_max]``,
    exceeds the mean of ``flux[t-pre_avg : t+post_avg]`` by ``delta`` times the
    song's 99th percentile of flux (a loudness-free scale that one outlier
    cannot move), and comes at least ``min_gap`` s after the previous onset.
    Frame counts are at 86 frames/s (44.1 kHz): pre/post max 35 ms, average
    window 116 ms before to 81 ms after.
    """
    d = DETECTOR
    n = flux.shape[0]
    if n == 0:
        return np.zeros(0, dtype=int)
    scale = float(np.quantile(flux, d["scale_quantile"]))
    padded = np.concatenate([np.full(d["pre_avg"], flux[0]), flux, np.full(d["post_avg"], flux[-1])])
    csum = np.concatenate([[0.0], np.cumsum(padded)])
    width = d["pre_avg"] + d["post_avg"] + 1
    local_mean = (csum[width:] - csum[:-width])[:n] / width
    view = np.lib.stride_tricks.sliding_window_view(
        np.concatenate([np.full(d["pre_max"], -np.inf), flux, np.full(d["post_max"], -np.inf)]),
        d["pre_max"] + d["post_max"] + 1)
    is_max = flux >= view.max(axis=1)
    candidates = np.nonzero(is_max & (flux > local_mean + d["delta"] * scale))[0]
    peaks: List[int] = []
    gap = d["min_gap"] * frame_rate
    for t in candidates:
        if not peaks or t - peaks[-1] >= gap:
            peaks.append(int(t))
    return np.asarray(peaks, dtype=int)


def detect_onsets(pcm: np.ndarray, rate: float) -> np.ndarray:
    """Music onset times [s] of a real song: spectral flux + peak picking.

    See :func:`onset_strength` and :func:`pick_peaks`; a peak at frame t is
    reported at the frame's centre ``(t*512 + 512) / rate``. Independent of
    mir_eval and of any light-show method.
    """
    flux, frame_rate = onset_strength(pcm, rate)
    return (pick_peaks(flux, frame_rate) * F.HOP + F.HOP) / float(rate)
