"""The three ways to turn a decoded song into LightShowPi level rows, and the show they make.

* ``encoder``: the plugin itself, :class:`lightshowpi_autoencoder.pipeline.ChunkPipeline`
  (features -> encoder -> calibrated levels around 12 +- 1.5).
* ``buckets``: LightShowPi's own frequency buckets (:mod:`train.show.lightshow`).
* ``pca``: the simple linear alternative: an 8-component PCA of the same
  feature frames, fitted on training songs; each component's score is
  standardised with its training mean/std and put on LightShowPi's scale by
  the plugin's own :class:`lightshowpi_autoencoder.levels.Calibration`
  (``12 + 1.5 * clip(z, -6, 6)``), exactly as the encoder's outputs are.

Every method's rows then go through the SAME LightShowPi brightness rule
(:func:`show`). By default the per-channel mean/std are the song's own
cache statistics (what LightShowPi uses from the second play on, once the
``.sync`` cache exists); ``stats="first-play"`` uses 12 / 1.5 instead.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence

import numpy as np

from lightshowpi_autoencoder import features as F
from lightshowpi_autoencoder.levels import Calibration

from . import lightshow

METHODS = ("encoder", "buckets", "pca")
STATS = ("cached", "first-play")
N_CHANNELS = 8
DEFAULT_RATE = 44100.0


@dataclass
class ShowSettings:
    """LightShowPi's settings that shape a show (names as in its config files)."""

    chunk_size: int = lightshow.CHUNK_SIZE
    sd_low: float = lightshow.SD_LOW
    sd_high: float = lightshow.SD_HIGH
    attenuate_pct: float = 0.0
    decay_factor: float = 0.0
    pin_mode: str = "onoff"
    stats: str = "cached"


@dataclass
class Show:
    """A show: ``brightness`` (``update_lights``' output, [0, 1]) and ``pins``
    (what each pin shows: 0/1 for ``onoff``, the brightness for ``pwm``),
    both float ``(n_chunks, channels)``, plus the statistics used."""

    brightness: np.ndarray
    pins: np.ndarray
    mean: np.ndarray
    std: np.ndarray


def show(rows: np.ndarray, settings: ShowSettings) -> Show:
    """Level rows ``(n_chunks, ch)`` -> the :class:`Show` LightShowPi makes of them.

    Brightness by LightShowPi's ``update_lights`` with cache statistics of
    these rows (``stats="cached"``) or 12 / 1.5 (``"first-play"``), then the
    pin rule (``onoff``: ON when brightness > 0.5; ``pwm``: the brightness).
    """
    rows = np.asarray(rows, dtype=np.float64)
    if settings.stats == "cached":
        mean, std = lightshow.cache_stats(rows)
    elif settings.stats == "first-play":
        mean, std = lightshow.first_play_stats(rows.shape[1])
    else:
        raise ValueError("stats must be one of %s" % (STATS,))
    bright = lightshow.brightness(rows, mean, std, settings.sd_low, settings.sd_high,
                                  settings.attenuate_pct, settings.decay_factor)
    pins = lightshow.lights_on(bright, settings.pin_mode).astype(np.float64)
    return Show(bright, pins, mean, std)


# ---------------------------------------------------------------- encoder

def encoder_rows(pcm: np.ndarray, rate: float, model, chunk_size: int) -> np.ndarray:
    """The plugin's rows for a song: int16 ``(frames, channels)`` -> ``(n_chunks, channels)``.

    :param model: a :class:`lightshowpi_autoencoder.modelfile.ModelFile`.
    """
    from lightshowpi_autoencoder.pipeline import ChunkPipeline

    pcm = np.asarray(pcm, dtype=np.int16)
    channels = 1 if pcm.ndim == 1 else pcm.shape[1]
    pipeline = ChunkPipeline(model, model.channels, 0, rate, channels)
    return pipeline.song(pcm, chunk_size).astype(np.float64)


# ---------------------------------------------------------------- buckets

def bucket_rows(pcm: np.ndarray, rate: float, chunk_size: int, num_bins: int = N_CHANNELS,
                **settings) -> np.ndarray:
    """LightShowPi's frequency-bucket rows (:func:`train.show.lightshow.bucket_levels`)."""
    return lightshow.bucket_levels(pcm, rate, chunk_size, num_bins, **settings)


# ---------------------------------------------------------------- buckets through the switching stage

class BucketSwitching:
    """LightShowPi's bucket levels as the "units" of the plugin's switching stage.

    The control row of issue 10: does the stage alone make the buckets as good as the
    learned model? Each bucket level is standardised with its mean/std over training
    songs' chunks (as the encoder's units are with theirs), the loudness likewise, and the
    rows go through :class:`lightshowpi_autoencoder.switching.Switching` with its defaults.

    :param training_rows: bucket rows ``(n, 8)`` of the training songs (non-silent chunks).
    :param training_loudness: their feature frames' ``features.total_log_power`` ``(n,)``.
    """

    def __init__(self, training_rows: np.ndarray, training_loudness: np.ndarray,
                 model_rate: float = DEFAULT_RATE) -> None:
        from lightshowpi_autoencoder import switching
        self.params = switching.check(dict(switching.DEFAULTS, kind=switching.KIND),
                                      training_rows.shape[1])
        self.mean, self.std = training_rows.mean(axis=0), np.maximum(training_rows.std(axis=0), 1e-6)
        self.loud = (float(np.mean(training_loudness)), float(max(np.std(training_loudness), 1e-6)))
        self.model_rate = float(model_rate)

    def rows(self, pcm: np.ndarray, rate: float, chunk_size: int) -> np.ndarray:
        """The stage's rows for a decoded song, ``(n_chunks, 8)``; silent chunks read 0."""
        from lightshowpi_autoencoder import switching
        levels = bucket_rows(pcm, rate, chunk_size, len(self.mean))
        feats, silent = song_features(pcm, rate, chunk_size, self.model_rate)
        loud = F.total_log_power(feats)
        stage = switching.Switching(self.params, self.mean, self.std, *self.loud)
        out = np.zeros_like(levels)
        seconds = chunk_size / float(rate)
        for i in np.nonzero(~silent)[0]:
            out[i] = stage(levels[i], feats[i], loud[i], seconds)
        return out


# ---------------------------------------------------------------- pca

@dataclass
class FrameStats:
    """Sufficient statistics of feature frames: count, sum ``(513,)``, scatter ``(513, 513)``.

    Kept per song so a leave-one-out fit is a subtraction, not a refit.
    """

    n: int
    total: np.ndarray
    scatter: np.ndarray

    @classmethod
    def of(cls, frames: np.ndarray) -> "FrameStats":
        x = np.asarray(frames, dtype=np.float64)
        return cls(x.shape[0], x.sum(axis=0), x.T @ x)

    def __add__(self, other: "FrameStats") -> "FrameStats":
        return FrameStats(self.n + other.n, self.total + other.total, self.scatter + other.scatter)

    def __sub__(self, other: "FrameStats") -> "FrameStats":
        return FrameStats(self.n - other.n, self.total - other.total, self.scatter - other.scatter)


class Pca:
    """PCA of feature frames with ``components`` components, scores on LightShowPi's scale.

    :param stats: statistics of the training frames (non-silent feature frames).
    """

    def __init__(self, stats: FrameStats, components: int = N_CHANNELS,
                 model_rate: float = DEFAULT_RATE) -> None:
        if stats.n < 2:
            raise ValueError("PCA needs at least 2 training frames")
        self.mean = stats.total / stats.n
        cov = stats.scatter / stats.n - np.outer(self.mean, self.mean)
        values, vectors = np.linalg.eigh(cov)
        order = np.argsort(values)[::-1][:components]
        vectors = vectors[:, order]
        # a component's sign is arbitrary: make its largest loading positive (deterministic)
        signs = np.sign(vectors[np.argmax(np.abs(vectors), axis=0), np.arange(vectors.shape[1])])
        self.components = vectors * np.where(signs == 0, 1.0, signs)
        self.explained = values[order]
        std = np.sqrt(np.maximum(values[order], 1e-12))
        # training scores have mean 0 (centred) and std sqrt(eigenvalue)
        self.calibration = Calibration(np.zeros(len(order)), std)
        self.model_rate = float(model_rate)
        self.training_frames = stats.n

    @classmethod
    def fit(cls, frames: Iterable[np.ndarray], components: int = N_CHANNELS,
            model_rate: float = DEFAULT_RATE) -> "Pca":
        """Fit on feature frames ``(n, 513)`` of one or more songs."""
        total: Optional[FrameStats] = None
        for x in frames:
            s = FrameStats.of(x)
            total = s if total is None else total + s
        if total is None:
            raise ValueError("PCA needs training frames")
        return cls(total, components, model_rate)

    def rows(self, feats: np.ndarray, silent: np.ndarray) -> np.ndarray:
        """Feature frames ``(n_chunks, 513)`` -> level rows ``(n_chunks, components)``; silent chunks read 0."""
        z = (np.asarray(feats, dtype=np.float64) - self.mean) @ self.components
        out = self.calibration(z.astype(np.float32)).astype(np.float64)
        out[np.asarray(silent, dtype=bool)] = 0.0
        return out


def song_features(pcm: np.ndarray, rate: float, chunk_size: int,
                  model_rate: float = DEFAULT_RATE):
    """The plugin's feature frames of a song, ``(feats (n_chunks, 513), silent (n_chunks,))``."""
    return F.song_features(pcm, rate, chunk_size, model_rate)


def pca_rows(pcm: np.ndarray, rate: float, pca: Pca, chunk_size: int) -> np.ndarray:
    """PCA rows of a decoded song, ``(n_chunks, components)``."""
    feats, silent = song_features(pcm, rate, chunk_size, pca.model_rate)
    return pca.rows(feats, silent)


def fit_pca_on_files(paths: Sequence[str], chunk_size: int,
                     model_rate: float = DEFAULT_RATE) -> Pca:
    """Decode ``paths`` and fit a PCA on their non-silent feature frames."""
    from .audio import decode

    frames: List[np.ndarray] = []
    for path in paths:
        pcm, rate = decode(path)
        feats, silent = song_features(pcm, rate, chunk_size, model_rate)
        frames.append(feats[~silent])
    return Pca.fit(frames, model_rate=model_rate)


__all__ = ("METHODS", "STATS", "ShowSettings", "Show", "show", "encoder_rows", "bucket_rows",
           "BucketSwitching", "FrameStats", "Pca", "song_features", "pca_rows", "fit_pca_on_files")
