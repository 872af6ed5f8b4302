"""``python -m train fit``: songs -> trained autoencoder -> exported encoder for the runtime."""
from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
import time
from typing import List, Optional, Sequence, Tuple

import numpy as np

from lightshowpi_autoencoder.features import bin_frequencies

from . import data

log = logging.getLogger("train")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("songs", nargs="+", help="audio files or folders to train on")
    p.add_argument("--out", required=True, help="model path stem: writes OUT.tflite and OUT.json")
    p.add_argument("--preset", default="default", help="seed (the 2018 post as published) or default")
    p.add_argument("--channels", type=int, default=8, help="bottleneck width = light channels (8)")
    p.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    p.add_argument("--seed", type=int, default=0, help="random seed (same data + seed = same model)")
    p.add_argument("--val", nargs="*", default=[], help="validation songs (never trained on)")
    p.add_argument("--holdout", type=int, default=0,
                   help="hold out the last N training songs (sorted by name) for validation")
    p.add_argument("--chunk-size", type=int, default=data.DEFAULT_CHUNK,
                   help="frames per chunk, as LightShowPi's chunk_size (2048)")
    p.add_argument("--sample-rate", type=float, default=data.DEFAULT_RATE,
                   help="the model's frequency grid [Hz]; other audio is mapped onto it")
    p.add_argument("--cache-dir", default=data.default_cache_dir(), help="feature cache folder")
    p.add_argument("--no-estimator", action="store_true",
                   help="do not save the Keras estimator (OUT-estimator/, needed for "
                        "reconstruction plots and losses)")
    p.add_argument("--candidates", type=int, default=None,
                   help="train this many seeds (seed, seed+1, ...) and keep the one whose show "
                        "on synthetic tuning songs comes closest to the goals (train/select.py; "
                        "default: the preset's)")
    p.add_argument("--untrained", action="store_true",
                   help="export the network with its random initial weights, untrained (the "
                        "ablation of the show-quality report: does the learning matter?)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def orient_channels(layers: List[Tuple[np.ndarray, np.ndarray]], X: np.ndarray,
                    rate: float, flip_signs: bool = True, inputs: Optional[np.ndarray] = None
                    ) -> Tuple[List[Tuple[np.ndarray, np.ndarray]], np.ndarray, np.ndarray]:
    """Give every model the same channel convention.

    Each bottleneck unit is signed so that it rises with the frame's loudness
    (tanh is odd, so negating its weights negates the unit), then units are
    ordered by the (log-frequency) spectral centroid of the bins they follow, lowest first:
    channel 1 is wired to the lowest sounds whatever model is loaded.

    :param X: frames ``(n, 513)``; ``inputs``: what the layers read from them, when not
        the frames themselves (their band means, :meth:`Autoencoder.inputs`).
    :returns: the new layers, each new channel's centroid [Hz], and the signed
        permutation: new channel i is ``signs[i] *`` old unit ``order[i]``.
    """
    from .export import run_dense_stack
    z = run_dense_stack(layers, X if inputs is None else inputs)
    loud = X.mean(axis=1)
    zc = (z - z.mean(0)) / (z.std(0) + 1e-12)
    sign = np.sign(np.mean(zc * ((loud - loud.mean()) / (loud.std() + 1e-12))[:, None], axis=0))
    sign[sign == 0] = 1.0
    if not flip_signs:   # a unit whose sign means something (an amplitude) keeps it
        sign[:] = 1.0
    Xc = (X - X.mean(0)) / (X.std(0) + 1e-12)
    corr = (zc * sign).T @ Xc / len(X)                   # (channels, 513)
    # centroid on a log-frequency axis (as we hear pitch), weighting the bins a unit
    # follows most: squared positive correlation; bin 0 (DC) has no place on that axis
    weight = np.clip(corr[:, 1:], 0, None) ** 2 + 1e-12
    log_f = np.log2(bin_frequencies(rate)[1:])
    centroid = 2.0 ** (weight @ log_f / weight.sum(axis=1))
    order = np.argsort(centroid, kind="stable")
    W, b = layers[-1]
    last = ((W * sign)[:, order], (b * sign)[order])
    return list(layers[:-1]) + [last], centroid[order], np.stack([order, sign[order]])


def _preset(name: str):
    from .model import PRESETS
    return PRESETS[name]


def _train_one(args, X: np.ndarray, Xv: np.ndarray, seed: int):
    """``(estimator, encoder layers, channel centroids [Hz] or None)`` for one seed."""
    from .model import Autoencoder
    est = Autoencoder(args.channels, args.preset, seed, args.epochs)
    if args.untrained:
        est.initialise(X)
    else:
        est.fit(X, Xv if len(Xv) else None, verbose=0 if args.quiet else 2)
    layers = est.encoder_weights()
    centroids = None
    if args.preset != "seed":
        # an additive decoder's unit is an amplitude: its sign means something, keep it
        layers, centroids, _ = orient_channels(layers, X, args.sample_rate,
                                               flip_signs=not est.config.additive_gain,
                                               inputs=est.inputs(X))
    return est, layers, centroids


def _train_and_choose(args, X: np.ndarray, Xv: np.ndarray, candidates: int):
    """Train ``candidates`` seeds; keep the best show on the tuning songs (:mod:`train.select`).

    :returns: ``(the chosen (estimator, layers, centroids), what was tried)``; with one
        candidate nothing is judged and ``tried`` is empty.
    """
    if candidates <= 1:
        return _train_one(args, X, Xv, args.seed), []
    import tempfile
    from . import export, select
    from lightshowpi_autoencoder import modelfile
    tuning = select.Tuning.make(args.channels)
    best, best_key, tried = None, None, []
    with tempfile.TemporaryDirectory(prefix="fit-candidates-") as tmp:
        for seed in range(args.seed, args.seed + candidates):
            run = _train_one(args, X, Xv, seed)
            info = {"training": {"songs": []}}
            if run[0].config.shaping:
                from lightshowpi_autoencoder import switching
                info["shaping"] = dict(switching.DEFAULTS, kind=switching.KIND)
            export.export(os.path.join(tmp, "seed%d" % seed), run[1], X, args.sample_rate, info,
                          run[0].bands)
            key, margins = tuning.judge(modelfile.load(os.path.join(tmp, "seed%d" % seed)))
            tried.append({"seed": seed, "shortfall": round(key[0], 3), "margins": margins})
            log.info("candidate seed %d: shortfall %.3f (summed margins %.3f)", seed, *key)
            if best_key is None or key > best_key:
                best, best_key = run, key
    return best, tried


def estimator_dir(model_path: str) -> str:
    """Where ``fit`` keeps the Keras estimator of a model: ``STEM-estimator/``."""
    stem = model_path[:-7] if model_path.endswith(".tflite") else model_path
    return stem + "-estimator"


def run(args: argparse.Namespace) -> int:
    from . import export
    t0 = time.time()
    train_paths = data.list_songs(args.songs)
    val_paths = data.list_songs(args.val) if args.val else []
    if args.holdout:
        if args.holdout >= len(train_paths):
            log.error("--holdout %d leaves no training songs (%d found)", args.holdout, len(train_paths))
            return 2
        train_paths, val_paths = train_paths[:-args.holdout], train_paths[-args.holdout:] + val_paths
    load = lambda paths: data.load_songs(paths, args.chunk_size, args.sample_rate,  # noqa: E731
                                         args.cache_dir, progress=not args.quiet)
    train_songs, val_songs = load(train_paths), load(val_paths)
    X, Xv = data.stack(train_songs), data.stack(val_songs)
    if len(X) == 0:
        log.error("no usable audio in %s: nothing decoded or everything silent", " ".join(args.songs))
        return 2
    t_feat = time.time() - t0
    candidates = 1 if args.untrained else int(args.candidates or _preset(args.preset).candidates)
    chosen, tried = _train_and_choose(args, X, Xv, candidates)
    est, layers, centroids = chosen
    train_loss = est.loss(X)
    val_loss = est.loss(Xv) if len(Xv) else None
    describe = lambda songs: [{"name": s.name, "sha256": s.sha256, "seconds": round(s.seconds, 3)}  # noqa: E731
                              for s in songs]
    info = {"training": {
        "command": "python -m train fit " + " ".join(shlex.quote(a) for a in sys.argv[2:])
        if sys.argv[1:2] == ["fit"] else "python -m train fit (called from code)",
        "preset": args.preset, "seed": est.seed, "epochs": 0 if args.untrained else est.epochs,
        "untrained": bool(args.untrained), "candidates": tried,
        "chunk_size": args.chunk_size, "songs": describe(train_songs),
        "validation_songs": describe(val_songs),
        "loss": {"train": round(train_loss, 6), "validation": None if val_loss is None
                 else round(val_loss, 6)},
        "channel_centroids_hz": None if centroids is None else [round(float(c), 1) for c in centroids],
    }}
    if est.config.shaping:
        from lightshowpi_autoencoder import switching
        info["shaping"] = dict(switching.DEFAULTS, kind=switching.KIND)
    model = export.export(args.out, layers, X, args.sample_rate, info, est.bands)
    if not args.no_estimator:
        est.save(estimator_dir(args.out))
    minutes = sum(s.seconds for s in train_songs + val_songs) / 60.0
    print("trained %s: %d songs (%d validation), %d frames, %.1f min of audio; "
          "loss train %.4f%s; features %.1f s, total %.1f s"
          % (model.path, len(train_songs), len(val_songs), len(X) + len(Xv), minutes, train_loss,
             "" if val_loss is None else ", validation %.4f" % val_loss, t_feat, time.time() - t0))
    print("model id %s, %d channels, %g Hz" % (model.model_id, model.channels, model.sample_rate))
    return 0
