"""``python -m train plot``: the 2018 post's three figures for a song, as PNG files.

1. ``<song>.spectrogram.png``: the feature frames the model sees (log10 power).
2. ``<song>.reconstruction.png``: the autoencoder's reconstruction of them
   (needs the Keras estimator ``fit`` keeps beside the model).
3. ``<song>.channels.png``: the channel levels the runtime hands LightShowPi.
"""
from __future__ import annotations

import argparse
import os
from typing import List

import numpy as np

from lightshowpi_autoencoder import modelfile
from lightshowpi_autoencoder.features import bin_frequencies
from lightshowpi_autoencoder.pipeline import ChunkPipeline

from . import data
from .show.audio import decode

SAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "samples", "sugar-plum-fairy_excerpt.ogg")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("song", nargs="?", default=SAMPLE, help="audio file (default: bundled sample)")
    p.add_argument("--model", default=modelfile.default_model_path(), help="model (.tflite)")
    p.add_argument("--chunk-size", type=int, default=data.DEFAULT_CHUNK)
    p.add_argument("--out", default="out", help="folder for the PNG files")


def _image(ax, matrix: np.ndarray, seconds: float, rate: float, title: str, label: str):
    top = bin_frequencies(rate)[-1] / 1000.0
    im = ax.imshow(matrix.T, origin="lower", aspect="auto", cmap="magma",
                   extent=(0, seconds, 0, top))
    ax.set_title(title)
    ax.set_xlabel("time [s]")
    ax.set_ylabel("frequency [kHz]")
    ax.figure.colorbar(im, ax=ax, label=label)


def run(args: argparse.Namespace) -> int:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model = modelfile.load(args.model)
    os.makedirs(args.out, exist_ok=True)
    song = data.load_song(args.song, args.chunk_size, model.sample_rate, None)
    if song is None:
        return 2
    pcm, rate = decode(args.song)
    seconds = song.seconds
    stem = os.path.join(args.out, os.path.basename(args.song))
    written: List[str] = []

    fig, ax = plt.subplots(figsize=(12, 4))
    _image(ax, song.features, seconds, model.sample_rate, "Spectrogram: " + song.name,
           "log10 power [FS²]")
    fig.tight_layout(); fig.savefig(stem + ".spectrogram.png", dpi=110); plt.close(fig)
    written.append(stem + ".spectrogram.png")

    from .fit import estimator_dir
    if os.path.isdir(estimator_dir(model.path)):
        from .model import Autoencoder
        est = Autoencoder.load(estimator_dir(model.path))
        rec = est.reconstruct(song.features)
        fig, ax = plt.subplots(figsize=(12, 4))
        _image(ax, rec, seconds, model.sample_rate,
               "Reconstruction through the %d-unit bottleneck (loss %.4f)"
               % (model.channels, est.loss(song.frames)), "scaled power [0..1]")
        fig.tight_layout(); fig.savefig(stem + ".reconstruction.png", dpi=110); plt.close(fig)
        written.append(stem + ".reconstruction.png")
    else:
        print("no estimator beside %s: reconstruction figure skipped" % model.path)

    levels = ChunkPipeline(model, model.channels, 0, rate, pcm.shape[1]).song(pcm, args.chunk_size)
    t = np.arange(len(levels)) * args.chunk_size / float(rate)
    fig, axes = plt.subplots(model.channels, 1, figsize=(12, 1 + 0.7 * model.channels), sharex=True)
    for c, ax in enumerate(np.atleast_1d(axes)):
        ax.plot(t, levels[:, c], lw=0.7)
        ax.axhline(12.1875, color="k", lw=0.5, ls=":")
        ax.set_ylabel("ch %d" % (c + 1), rotation=0, labelpad=18)
        ax.set_yticks([])
    np.atleast_1d(axes)[0].set_title("Channel levels handed to LightShowPi (dotted: ON threshold "
                                     "before a cache exists)")
    np.atleast_1d(axes)[-1].set_xlabel("time [s]")
    fig.tight_layout(); fig.savefig(stem + ".channels.png", dpi=110); plt.close(fig)
    written.append(stem + ".channels.png")
    for path in written:
        print("wrote", path)
    return 0
