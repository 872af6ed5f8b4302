"""Would one TFLite graph do a chunk's arithmetic faster than numpy + the encoder? (issue 13)

``python -m train.bench.whole_graph [--chunks N]`` builds the shipped model's per-chunk
arithmetic for a stereo chunk of 2048 frames as ONE TensorFlow graph (mono mix, the Hann
frames of :mod:`lightshowpi_autoencoder.features` (two since features version 4), RFFT, power, the frame weights,
log10, the clip to the training range, the encoder's dense layers), converts it to TFLite,
and times one ``invoke()`` of it against what the runtime does for the same chunk
(:class:`~lightshowpi_autoencoder.feature_stream.ChunkFeatures` with its clip, the band
means the shipped model reads, its encoder): the same chunks, alternating in blocks as the per-chunk bench does, medians.
It also times numpy's rfft of those 1024-point frames against one 2048-point rfft
(would another framing of the same chunk cut the FFT?). A measurement, not a runtime
path: the graph computes in float32, the runtime's features in float64.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Dict

import numpy as np

from lightshowpi_autoencoder import features as F
from lightshowpi_autoencoder import modelfile
from lightshowpi_autoencoder.encoder import Encoder
from lightshowpi_autoencoder.feature_stream import BandMeans, ChunkFeatures

from .common import REPO
from .per_chunk import _alternating

CHUNK = 2048


def graph_model(layers, lo: np.ndarray, hi: np.ndarray) -> bytes:
    """The whole per-chunk arithmetic as a TFLite model: int16 ``(CHUNK, 2)`` -> units ``(1, 8)``."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    window, norm = F._window(F.FRAME)
    window = window.astype(np.float32)
    weights = F.frame_weights(CHUNK).astype(np.float32)
    starts = F.frame_starts(CHUNK)
    scale = float(1.0 / (len(starts) * norm))

    @tf.function(input_signature=[tf.TensorSpec([CHUNK, 2], tf.int16)])
    def chunk(pcm):
        x = tf.reduce_mean(tf.cast(pcm, tf.float32), axis=1) * (1.0 / 32768.0)
        frames = tf.stack([x[s:s + F.FRAME] for s in starts]) * window
        spec = tf.signal.rfft(frames)
        power = tf.math.real(spec) ** 2 + tf.math.imag(spec) ** 2
        power = tf.tensordot(weights, power, 1) * scale + F.EPS
        h = tf.math.log(power)[None, :] * float(1.0 / np.log(10.0))
        h = tf.clip_by_value(h, lo.astype(np.float32), hi.astype(np.float32))
        for W, b in layers:
            h = tf.tanh(tf.matmul(h, W.astype(np.float32)) + b.astype(np.float32))
        return h

    converter = tf.lite.TFLiteConverter.from_concrete_functions([chunk.get_concrete_function()], chunk)
    return converter.convert()


def main(argv=None) -> Dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--chunks", type=int, default=2000)
    args = p.parse_args(argv)
    from ai_edge_litert.interpreter import Interpreter
    from train.model import Autoencoder

    path = os.path.join(REPO, "models", "default")
    model = modelfile.load(path)
    layers = Autoencoder.load(path + "-estimator").encoder_weights(fold_bands=True)
    lo, hi = model.input_range
    interp = Interpreter(model_content=graph_model(layers, lo, hi), num_threads=1)
    interp.allocate_tensors()
    tin = interp.tensor(interp.get_input_details()[0]["index"])
    tout = interp.tensor(interp.get_output_details()[0]["index"])

    feats = ChunkFeatures(2, model.sample_rate, clip=(lo, hi))    # clipped as the pipeline's
    encoder = Encoder(model)

    # a band-input model reads the frame's band means, as the pipeline gives them
    means = BandMeans(model.input_bands) if model.input_bands else None
    inp = np.zeros((1, model.input_size), np.float32)

    def runtime(data: bytes) -> np.ndarray:
        x = feats(data)
        if means is None:
            return encoder.run_float32(feats.frame)
        np.copyto(inp[0], means(x), casting="same_kind")
        return encoder.run_float32(inp)

    def graph(data: bytes) -> np.ndarray:
        tin()[:] = np.frombuffer(data, np.int16).reshape(CHUNK, 2)
        interp.invoke()
        return tout()[0]

    rng = np.random.default_rng(0)
    chunks = [(rng.normal(size=2 * CHUNK) * 3000).astype(np.int16).tobytes() for _ in range(args.chunks)]
    for data in chunks[:50]:        # warm up both
        runtime(data), graph(data)
    # the export orders the units (train.fit.orient_channels): compare them as sets
    diff = max(float(np.max(np.abs(np.sort(runtime(d)) - np.sort(graph(d))))) for d in chunks[:50])
    ta, tb = _alternating(runtime, graph, chunks, 50)

    frames = np.random.default_rng(1).normal(size=(len(F.frame_starts(CHUNK)), F.FRAME))
    whole = np.random.default_rng(1).normal(size=CHUNK)
    tf_, tw = _alternating(lambda _d: np.fft.rfft(frames, axis=-1), lambda _d: np.fft.rfft(whole),
                           chunks, 50)
    out = {"runtime_us": statistics.median(ta) / 1e3, "graph_us": statistics.median(tb) / 1e3,
           "graph_over_runtime": statistics.median(tb) / statistics.median(ta),
           "max_unit_difference": diff,   # float32 graph vs float64 features
           "rfft_%dx%d_us" % (len(frames), F.FRAME): statistics.median(tf_) / 1e3,
           "rfft_1x%d_us" % CHUNK: statistics.median(tw) / 1e3}
    print("%s, numpy %s, %d chunks of %d stereo frames, medians:" % (
        time.strftime("%Y-%m-%d"), np.__version__, len(chunks), CHUNK))
    for key, value in out.items():
        print("  %-22s %.4g" % (key, value))
    return out


if __name__ == "__main__":
    main()
