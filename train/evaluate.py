"""``python -m train evaluate``: how a model treats songs.

For each song: reconstruction loss (binary cross-entropy, as in training; needs
the Keras estimator ``fit`` keeps beside the model), and how the runtime's
channel levels behave: per-channel spread, mean absolute correlation between
channels, and the fraction of frames where each channel is above LightShowPi's
switching point (brightness > 0.5 at mean 12 / std 1.5, i.e. level > 12.1875).
"""
from __future__ import annotations

import argparse
import os

import numpy as np

from lightshowpi_autoencoder import modelfile
from lightshowpi_autoencoder.pipeline import ChunkPipeline

from . import data
from .show.audio import decode


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("songs", nargs="+", help="audio files or folders")
    p.add_argument("--model", default=modelfile.default_model_path(), help="model (.tflite)")
    p.add_argument("--chunk-size", type=int, default=data.DEFAULT_CHUNK)
    p.add_argument("--cache-dir", default=data.default_cache_dir())


def channel_stats(levels: np.ndarray) -> dict:
    """Summary of level rows ``(n, channels)`` on LightShowPi's scale."""
    live = levels[np.any(levels > 0, axis=1)]
    if len(live) < 2:
        return {"mean_abs_r": float("nan"), "spread": [], "on": []}
    r = np.corrcoef(live.T)
    off = r[~np.eye(len(r), dtype=bool)]
    on_threshold = 12.0 - 0.5 * 1.5 + 0.5 * (0.5 + 0.75) * 1.5
    return {"mean_abs_r": float(np.nanmean(np.abs(off))),
            "spread": live.std(axis=0).round(3).tolist(),
            "on": (live > on_threshold).mean(axis=0).round(3).tolist()}


def run(args: argparse.Namespace) -> int:
    model = modelfile.load(args.model)
    from .fit import estimator_dir
    est = None
    if os.path.isdir(estimator_dir(model.path)):
        from .model import Autoencoder
        est = Autoencoder.load(estimator_dir(model.path))
    print("model %s (id %s, %d channels)" % (model.path, model.model_id, model.channels))
    trained = {s["sha256"] for s in model.meta.get("training", {}).get("songs", [])}
    for path in data.list_songs(args.songs):
        song = data.load_song(path, args.chunk_size, model.sample_rate, args.cache_dir)
        if song is None:
            continue
        pcm, rate = decode(path)
        levels = ChunkPipeline(model, model.channels, 0, rate, pcm.shape[1]).song(pcm, args.chunk_size)
        stats = channel_stats(levels)
        loss = "%.4f" % est.loss(song.frames) if est is not None else "n/a (no estimator)"
        print("%-45s %s loss %s  mean|r| %.3f  on-fraction %s" % (
            song.name[:45], "train" if song.sha256 in trained else "new  ", loss,
            stats["mean_abs_r"], " ".join("%.2f" % v for v in stats["on"])))
    return 0
