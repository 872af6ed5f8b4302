"""The autoencoder as a fit/transform estimator (TensorFlow/Keras + scikit-learn).

Preset ``seed`` is the 2018 post ("Deep Autoencoder Neural Networks for Maximal
Christmas Decoration Enjoyment") as published: MinMax-scaled log spectra,
dropout 0.2 on the input, Dense 128-64-32-16-N tanh encoder, mirrored tanh
decoder, 513 sigmoid outputs, adam, binary cross-entropy, 10 epochs, batch
256, shuffled.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from lightshowpi_autoencoder.features import N_BINS, band_means, encoder_input


@dataclass
class Preset:
    hidden: Tuple[int, ...] = (128, 64, 32, 16)
    input_dropout: float = 0.2
    epochs: int = 10
    batch_size: int = 256
    learning_rate: float = 1e-3
    #: weight of the bottleneck decorrelation loss (0: none, the post's model)
    decorrelation: float = 0.0
    #: export with the runtime's switching stage (lightshowpi_autoencoder.switching)
    shaping: bool = False
    #: 0: the autoencoder sees the 513 linear bins (the post). N > 0: it sees their mean log
    #: power in bands N per octave (one bin at least each; DC left out), i.e. the spectrum on
    #: a log-frequency axis, and reconstructs those bands. The exported encoder reads the
    #: band means (features.band_means), which the runtime computes for its switching stage.
    bands_per_octave: float = 0.0
    #: > 0: an additive decoder. The input's log power is rebuilt as
    #: ``log10(sum_c exp(additive_gain * code_c) * T_c)``: 8 learned nonnegative spectra T_c,
    #: each as loud as its unit says, summed as sounds add up. A unit is then the log
    #: amplitude of its own learned sound: it rises with that sound's loudness and falls
    #: when another sound explains the spectrum. Loss: squared error of log10 power.
    additive_gain: float = 0.0
    #: weight of a penalty on the mean squared unit value: keeps the tanh units off their
    #: rails (a unit stuck at +-1 carries no information, and its light only noise)
    code_l2: float = 0.0
    #: seeds ``train fit`` tries, keeping the best show on synthetic tuning songs (train/select.py)
    candidates: int = 1
    #: how the additive decoder's 8 spectra start: "random", or "bands": 8 bumps spread evenly
    #: over the log-frequency bands (LightShowPi's own layout, as a starting point to learn from)
    template_init: str = "random"


PRESETS: Dict[str, Preset] = {
    "seed": Preset(),
    # the shipped model: the seed's dense tanh encoder reading the spectrum in 6 bands per
    # octave, an additive decoder (each unit the log amplitude of a learned sound), a loss
    # that keeps the 8 units decorrelated, channels ordered by spectral centroid
    # (train.fit.orient_channels), the best of 4 seeds on synthetic tuning songs
    # (train.select), exported with the switching stage. Each change was chosen on
    # held-out songs (python -m train crossval; docs/show-quality.md).
    "default": Preset(input_dropout=0.0, epochs=30, decorrelation=1.0, bands_per_octave=6.0,
                      additive_gain=3.0, shaping=True, candidates=4),
}


def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    _register(keras)
    return keras


_DECORRELATE = None


def _register(keras):
    """Define the :class:`Decorrelate` layer once Keras is imported (it is optional at import)."""
    global _DECORRELATE
    if _DECORRELATE is not None:
        return

    @keras.saving.register_keras_serializable(package="lightshowpi_autoencoder")
    class Decorrelate(keras.layers.Layer):
        """Identity that adds ``weight * mean(offdiag(R)**2)``, R the batch correlation
        matrix of its input: the bottleneck units then carry different parts of the
        sound instead of all following loudness (each unit drives its own light)."""

        def __init__(self, weight: float = 1.0, **kw):
            super().__init__(**kw)
            self.weight = float(weight)

        def call(self, code):
            ops = keras.ops
            c = code - ops.mean(code, axis=0, keepdims=True)
            cov = ops.matmul(ops.transpose(c), c) / ops.cast(ops.shape(code)[0], code.dtype)
            sd = ops.sqrt(ops.diagonal(cov) + 1e-6)
            r = cov / (sd[:, None] * sd[None, :])
            n = ops.shape(r)[0]
            off = r * (1.0 - ops.eye(n, dtype=r.dtype))
            self.add_loss(self.weight * ops.sum(off * off) / ops.cast(n * (n - 1), r.dtype))
            return code

        def get_config(self):
            return {**super().get_config(), "weight": self.weight}

    _DECORRELATE = Decorrelate

    @keras.saving.register_keras_serializable(package="lightshowpi_autoencoder")
    class Additive(keras.layers.Layer):
        """``log10(exp(gain * code) @ exp(theta) + 10**floor)``: the sum of the units' sounds."""

        def __init__(self, n_out: int, gain: float, floor: float = -9.0, init: str = "random", **kw):
            super().__init__(**kw)
            self.n_out, self.gain, self.floor, self.init = int(n_out), float(gain), float(floor), init

        def build(self, input_shape):
            n = int(input_shape[-1])
            if self.init == "bands":
                # bump c centred on band (c + 0.5) * n_out / n, a Gaussian in log power
                centre = (np.arange(n) + 0.5) * self.n_out / n
                width = self.n_out / n
                j = np.arange(self.n_out)[None, :]
                start = -10.0 - 2.0 * ((j - centre[:, None]) / width) ** 2
                initializer = keras.initializers.Constant(np.maximum(start, -20.0).astype(np.float32))
            else:
                initializer = keras.initializers.RandomUniform(-13.0, -10.0)
            self.theta = self.add_weight(shape=(n, self.n_out), name="log_spectra",
                                         initializer=initializer)

        def call(self, code):
            ops = keras.ops
            power = ops.matmul(ops.exp(self.gain * code), ops.exp(self.theta))
            return ops.log(power + 10.0 ** self.floor) / np.log(10.0)

        def get_config(self):
            return {**super().get_config(), "n_out": self.n_out, "gain": self.gain,
                    "floor": self.floor, "init": self.init}

    global _ADDITIVE
    _ADDITIVE = Additive


_ADDITIVE = None
FLOOR = -9.0   # [log10 FS**2] the additive decoder's floor: quieter bins are not chased


class Autoencoder:
    """MinMax scaler + dense autoencoder.

    :param channels: bottleneck width = light channels driven.
    :param preset: a key of :data:`PRESETS`.
    """

    def __init__(self, channels: int = 8, preset: str = "seed", seed: int = 0,
                 epochs: Optional[int] = None) -> None:
        if preset not in PRESETS:
            raise ValueError("unknown preset %r (have %s)" % (preset, ", ".join(PRESETS)))
        self.channels, self.preset, self.seed = int(channels), preset, int(seed)
        self.config = PRESETS[preset]
        self.epochs = int(epochs if epochs is not None else self.config.epochs)
        self.scaler = None
        self.bin_range = None     # (min, max) of each bin over the training frames
        self.model = None
        self.history: Dict[str, List[float]] = {}

    # -- building -----------------------------------------------------------
    def _build(self, n_in: int):
        keras = _keras()
        L = keras.layers
        inp = keras.Input(shape=(n_in,), name="spectrum")
        x = L.Dropout(self.config.input_dropout, name="input_dropout")(inp)
        for i, units in enumerate(self.config.hidden):
            x = L.Dense(units, activation="tanh", name="enc%d" % i)(x)
        reg = keras.regularizers.L2(self.config.code_l2) if self.config.code_l2 else None
        code = L.Dense(self.channels, activation="tanh", name="bottleneck",
                       activity_regularizer=reg)(x)
        x = code
        if self.config.decorrelation:
            x = _DECORRELATE(self.config.decorrelation, name="decorrelate")(x)
        if self.config.additive_gain:
            out = _ADDITIVE(n_in, self.config.additive_gain, FLOOR, self.config.template_init,
                            name="reconstruction")(x)
            model = keras.Model(inp, out, name="autoencoder")
            model.compile(optimizer=keras.optimizers.Adam(self.config.learning_rate), loss="mse")
            return model
        for i, units in enumerate(reversed(self.config.hidden)):
            x = L.Dense(units, activation="tanh", name="dec%d" % i)(x)
        out = L.Dense(n_in, activation="sigmoid", name="reconstruction")(x)
        model = keras.Model(inp, out, name="autoencoder")
        model.compile(optimizer=keras.optimizers.Adam(self.config.learning_rate),
                      loss="binary_crossentropy")
        return model

    # -- fit / transform ------------------------------------------------------
    @property
    def bands(self) -> Optional[float]:
        """Bands per octave the network reads (:func:`features.band_means`), or None: the bins."""
        return float(self.config.bands_per_octave) if self.config.bands_per_octave else None

    def inputs(self, X: np.ndarray) -> np.ndarray:
        """Frames ``(n, 513)`` -> what the network reads: the frames, or their log-frequency
        bands (:func:`features.band_means`: the runtime computes the same numbers)."""
        return encoder_input(X, self.bands)

    def targets(self, X: np.ndarray, Xs: np.ndarray) -> np.ndarray:
        """What the decoder rebuilds: the scaled input (the post), or for the additive
        decoder the unscaled log10 power, floored at :data:`FLOOR`."""
        if not self.config.additive_gain:
            return Xs
        return np.maximum(self.inputs(X), FLOOR).astype(np.float32)

    def scale(self, X: np.ndarray) -> np.ndarray:
        """Frames ``(n, 513)`` -> the network's scaled input. Each bin is first clipped to its
        training range, as the runtime clips (model ``input_range``); with 513 bins the
        MinMax-scaled values are then in [0, 1] (the post's clip), with bands they are
        averages of clipped bins and need no clip of their own."""
        X = np.clip(np.asarray(X, np.float64), self.bin_range[0], self.bin_range[1])
        return self.scaler.transform(self.inputs(X)).astype(np.float32)

    def initialise(self, X: np.ndarray) -> "Autoencoder":
        """Fit the scaler on frames ``(n, 513)`` and build the network with its random weights
        (seeded): what :meth:`fit` starts from, and the untrained ablation of the report."""
        from sklearn.preprocessing import MinMaxScaler
        keras = _keras()
        import tensorflow as tf
        keras.utils.set_random_seed(self.seed)
        tf.config.experimental.enable_op_determinism()
        self.bin_range = (np.min(X, axis=0), np.max(X, axis=0))
        self.scaler = MinMaxScaler().fit(self.inputs(X))
        self.model = self._build(self.inputs(X[:1]).shape[1])
        return self

    def fit(self, X: np.ndarray, X_val: Optional[np.ndarray] = None, verbose: int = 1) -> "Autoencoder":
        """Train on frames ``(n, 513)`` [log10 power]; ``X_val`` is scored each epoch."""
        self.initialise(X)
        Xs = self.scale(X)
        val = None
        if X_val is not None and len(X_val):
            Xv = self.scale(X_val)
            val = (Xv, self.targets(X_val, Xv))
        hist = self.model.fit(Xs, self.targets(X, Xs), epochs=self.epochs,
                              batch_size=self.config.batch_size, shuffle=True,
                              validation_data=val, verbose=verbose)
        self.history = {k: [float(v) for v in vs] for k, vs in hist.history.items()}
        return self

    def encoder_weights(self, fold_bands: bool = False) -> List[Tuple[np.ndarray, np.ndarray]]:
        """``[(W, b), ...]`` of the encoder's dense layers, the scaler folded into the first.

        The first layer takes what the network reads (:meth:`inputs`): the 513 bins, or the
        band means, which the runtime computes anyway for its switching stage (43 inputs
        instead of 513: the encoder's largest layer 12 times smaller). The MinMax scaler is
        ``x * s + m``, so ``(x*s + m) @ W + b == x @ (s[:,None]*W) + (m @ W + b)``. With
        ``fold_bands`` the band averaging ``P`` is folded in the same way, ``(x @ P) @ W ==
        x @ (P @ W)``: the first layer then takes the 513 bins whatever the model reads.
        """
        names = ["enc%d" % i for i in range(len(self.config.hidden))] + ["bottleneck"]
        layers = [self.model.get_layer(n).get_weights() for n in names]
        s = self.scaler.scale_.astype(np.float64)
        m = self.scaler.min_.astype(np.float64)
        W0, b0 = (np.asarray(a, dtype=np.float64) for a in layers[0])
        W = s[:, None] * W0
        if fold_bands and self.bands is not None:
            W = band_means(np.eye(N_BINS), self.bands) @ W   # P (513, n_bands): the band averaging
        folded = [(W, m @ W0 + b0)]
        folded += [(np.asarray(W, np.float64), np.asarray(b, np.float64)) for W, b in layers[1:]]
        return folded

    def encode(self, X: np.ndarray) -> np.ndarray:
        """Bottleneck activations ``(n, channels)`` as Keras computes them."""
        keras = _keras()
        enc = keras.Model(self.model.input, self.model.get_layer("bottleneck").output)
        Xs = self.scale(X)
        return np.asarray(enc.predict(Xs, batch_size=4096, verbose=0))

    def reconstruct(self, X: np.ndarray) -> np.ndarray:
        """The decoder's output for frames ``X``: scaled inputs in [0, 1] (the post's decoder)
        or log10 power (the additive decoder), ``(n, inputs)``."""
        return np.asarray(self.model.predict(self.scale(X), batch_size=4096, verbose=0))

    def loss(self, X: np.ndarray) -> float:
        """Reconstruction loss of ``X`` without the regularisers: binary cross-entropy of the
        scaled frames (the post), or mean squared error of log10 power (additive decoder)."""
        Xs = self.scale(X)
        R = self.reconstruct(X)
        if self.config.additive_gain:
            return float(np.mean((R - self.targets(X, Xs)) ** 2))
        R = np.clip(R, 1e-7, 1 - 1e-7)
        return float(-np.mean(Xs * np.log(R) + (1 - Xs) * np.log(1 - R)))

    # -- persistence ----------------------------------------------------------
    def save(self, folder: str) -> None:
        os.makedirs(folder, exist_ok=True)
        self.model.save(os.path.join(folder, "autoencoder.keras"))
        np.savez(os.path.join(folder, "scaler.npz"), min=self.scaler.min_, scale=self.scaler.scale_,
                 data_min=self.scaler.data_min_, data_max=self.scaler.data_max_,
                 bin_min=self.bin_range[0], bin_max=self.bin_range[1])
        with open(os.path.join(folder, "estimator.json"), "w") as fh:
            json.dump({"channels": self.channels, "preset": self.preset, "seed": self.seed,
                       "epochs": self.epochs, "history": self.history,
                       "config": asdict(self.config)}, fh, indent=1)

    @classmethod
    def load(cls, folder: str) -> "Autoencoder":
        from sklearn.preprocessing import MinMaxScaler
        keras = _keras()
        with open(os.path.join(folder, "estimator.json")) as fh:
            info = json.load(fh)
        est = cls(info["channels"], info["preset"], info["seed"], info["epochs"])
        if "config" in info:      # as trained, even if the preset has changed since
            config = dict(info["config"], hidden=tuple(info["config"]["hidden"]))
            est.config = Preset(**{k: v for k, v in config.items() if k in Preset.__dataclass_fields__})
        est.history = info.get("history", {})
        est.model = keras.models.load_model(os.path.join(folder, "autoencoder.keras"))
        with np.load(os.path.join(folder, "scaler.npz")) as z:
            sc = MinMaxScaler()
            sc.min_, sc.scale_ = z["min"], z["scale"]
            sc.data_min_, sc.data_max_ = z["data_min"], z["data_max"]
            sc.data_range_ = sc.data_max_ - sc.data_min_
            sc.n_features_in_ = len(sc.min_)
            sc.n_samples_seen_ = 1
            est.bin_range = ((z["bin_min"], z["bin_max"]) if "bin_min" in z.files
                             else (z["data_min"], z["data_max"]))   # 513 bins: the same
        est.scaler = sc
        return est
