"""Export the encoder half as a ``.tflite`` model plus the runtime's metadata."""
from __future__ import annotations

import os
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from lightshowpi_autoencoder import modelfile
from lightshowpi_autoencoder.features import encoder_input, total_log_power


def dense_stack_to_tflite(layers: Sequence[Tuple[np.ndarray, np.ndarray]]) -> bytes:
    """A chain of ``tanh(x @ W + b)`` layers -> TFLite flatbuffer bytes.

    Input ``[1, inputs]`` float32 (the first layer's rows: 513 bins or the band means),
    output ``[1, channels]`` float32; each layer becomes one FULLY_CONNECTED operator with
    a fused TANH.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    consts = [(tf.constant(np.asarray(W, np.float32)), tf.constant(np.asarray(b, np.float32)))
              for W, b in layers]

    n_in = int(np.shape(layers[0][0])[0])

    @tf.function(input_signature=[tf.TensorSpec([1, n_in], tf.float32, name="spectrum")])
    def encoder(x):
        for W, b in consts:
            x = tf.tanh(tf.matmul(x, W) + b)
        return x

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [encoder.get_concrete_function()], encoder)
    converter.optimizations = []
    return bytes(converter.convert())


def run_dense_stack(layers: Sequence[Tuple[np.ndarray, np.ndarray]], X: np.ndarray) -> np.ndarray:
    """The same chain in float64 numpy, ``(n, inputs)`` -> ``(n, channels)``."""
    x = np.asarray(X, np.float64)
    for W, b in layers:
        x = np.tanh(x @ W + b)
    return x


def export(path: str, layers: Sequence[Tuple[np.ndarray, np.ndarray]], train_frames: np.ndarray,
           sample_rate: float, info: Dict[str, Any],
           bands: Optional[float] = None) -> modelfile.ModelFile:
    """Write ``path`` (.tflite + .json) with calibration from ``train_frames`` ``(n, 513)``.

    ``bands``: the first layer reads the frames' band means at that many bands per octave
    (:func:`features.band_means`; the model's ``input_bands_per_octave``), else the bins.

    The metadata also records each bin's training range: the runtime clips its
    input to it, as training clips the MinMax-scaled frames to [0, 1]; and the
    mean/std of the frames' loudness (:func:`features.total_log_power`), the
    switching stage's starting point.
    """
    tflite = dense_stack_to_tflite(layers)
    lo, hi = train_frames.min(axis=0), train_frames.max(axis=0)
    clipped = np.clip(train_frames, lo, hi)
    z = run_dense_stack(layers, encoder_input(clipped, bands))
    std = np.maximum(z.std(axis=0), 1e-6)
    loud = total_log_power(clipped)
    meta = dict(info)
    if bands is not None:
        meta["input_bands_per_octave"] = float(bands)
    meta.update(sample_rate=float(sample_rate), channels=int(z.shape[1]),
                input_range={"min": [round(float(v), 6) for v in lo],
                             "max": [round(float(v), 6) for v in hi]},
                calibration={"mean": [round(float(v), 8) for v in z.mean(axis=0)],
                             "std": [round(float(v), 8) for v in std],
                             "loudness": {"mean": round(float(loud.mean()), 6),
                                          "std": round(float(max(loud.std(), 1e-6)), 6)}})
    return modelfile.save(path, tflite, meta)
