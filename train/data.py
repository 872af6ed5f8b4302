"""A music library -> the runtime's feature frames, cached on disk.

Every frame comes from :func:`lightshowpi_autoencoder.features.song_features`,
the function the plugin itself runs inside LightShowPi, chunk by chunk.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Iterable, List, Optional, Sequence

import numpy as np

from lightshowpi_autoencoder import features as F

from .show.audio import DecodeError, decode, file_sha256, list_songs  # noqa: F401 (list_songs: train.data's users)

log = logging.getLogger("train")
DEFAULT_CHUNK = 2048
DEFAULT_RATE = 44100


def default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "lightshowpi-autoencoder", "features")


@dataclass
class Song:
    """One decoded song's feature frames."""

    path: str
    sha256: str
    rate: int
    seconds: float
    features: np.ndarray      # float32 (chunks, 513) at the model rate
    silent: np.ndarray        # bool (chunks,)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def frames(self) -> np.ndarray:
        """The non-silent frames, float32 ``(n, 513)``."""
        return self.features[~self.silent]


def load_song(path: str, chunk_size: int = DEFAULT_CHUNK, model_rate: float = DEFAULT_RATE,
              cache_dir: Optional[str] = None) -> Optional[Song]:
    """Features of one file (cached by content and feature settings); ``None`` if undecodable or silent."""
    sha = file_sha256(path)
    key = "%s-v%d-c%d-r%d" % (sha[:32], F.FEATURE_VERSION, chunk_size, int(model_rate))
    cache = os.path.join(cache_dir, key + ".npz") if cache_dir else None
    if cache and os.path.isfile(cache):
        try:
            with np.load(cache) as z:
                return Song(path, sha, int(z["rate"]), float(z["seconds"]), z["features"], z["silent"])
        except Exception:
            log.warning("feature cache %s unreadable; recomputing", cache)
    try:
        pcm, rate = decode(path)
    except DecodeError as exc:
        log.warning("skipping %s", exc)
        return None
    if pcm.shape[0] == 0 or not pcm.any():
        log.warning("skipping %s: silent or empty", path)
        return None
    feats, silent = F.song_features(pcm, rate, chunk_size, model_rate)
    song = Song(path, sha, rate, pcm.shape[0] / float(rate), feats, silent)
    if cache:
        os.makedirs(cache_dir, exist_ok=True)
        tmp = cache + ".tmp.npz"
        np.savez_compressed(tmp, rate=rate, seconds=song.seconds, features=feats, silent=silent)
        os.replace(tmp, cache)
    return song


def load_songs(paths: Sequence[str], chunk_size: int = DEFAULT_CHUNK,
               model_rate: float = DEFAULT_RATE, cache_dir: Optional[str] = None,
               progress: bool = True) -> List[Song]:
    """Load many songs with a progress bar; undecodable/silent ones are skipped with a warning."""
    songs = []
    for path in _progress(paths, "decoding", progress):
        song = load_song(path, chunk_size, model_rate, cache_dir)
        if song is not None:
            songs.append(song)
    return songs


def _progress(items, desc, enabled):
    if not enabled:
        return items
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    return tqdm(items, desc=desc, unit="song", leave=False)


def stack(songs: Sequence[Song]) -> np.ndarray:
    """All non-silent frames of ``songs``, float32 ``(n, 513)``."""
    if not songs:
        return np.zeros((0, F.N_BINS), dtype=np.float32)
    return np.concatenate([s.frames for s in songs], axis=0)
