"""chunk -> features -> encoder -> levels: one row of LightShowPi levels per chunk.

This is the whole per-chunk path of the plugin, free of LightShowPi: the host
adapter (:mod:`host`) wraps it in LightShowPi's FFT interface, and the
preview/report tools run it offline on a decoded song.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from . import features
from .encoder import Encoder
from .errors import PluginError
from .levels import Calibration, Mapping, encoder_width, pin_mapping
from .modelfile import ModelFile
from .switching import Switching

_REPLACE = "retrain or replace the model (python -m train fit)"


class ChunkPipeline:
    """Levels for one song's chunks.

    :param model: a checked model.
    :param num_bins: LightShowPi's ``gpio_len`` (values per row it expects).
    :param custom_channel_mapping: LightShowPi's setting (0 or a list of 1-based channels).
    :param audio_rate: sample rate of the chunks [Hz].
    :param channels: interleaved audio channels per frame (2 for files, 1 for audio-in).
    :param engine: power-spectrum engine (None: numpy; the GPU engine on a Pi).
    :raises PluginError: the model's width does not fit the channels asked for.
    """

    def __init__(self, model: ModelFile, num_bins: int, custom_channel_mapping: Mapping,
                 audio_rate: float, channels: int, engine=None, backend: Optional[str] = None) -> None:
        width = encoder_width(num_bins, custom_channel_mapping)
        if width != model.channels:
            how = ("custom_channel_mapping asks for %d" % width
                   if pin_mapping(num_bins, custom_channel_mapping) is not None
                   else "gpio_len is %d" % num_bins)
            raise PluginError("model has %d channels but LightShowPi needs %d (%s)"
                              % (model.channels, width, how), model.path,
                              "train a %d-channel model (python -m train fit --channels %d) "
                              "or choose one with autoencoder_model" % (width, width))
        self.model = model
        self.num_bins = int(num_bins)
        self.audio_rate = float(audio_rate)
        self.channels = int(channels)
        self.engine = engine
        self.encoder = Encoder(model, backend)
        self.calibration = Calibration(model.calibration["mean"], model.calibration["std"])
        # a model with a shaping stage switches its lights ON/OFF itself (switching.py)
        shaping = model.shaping   # checked on each access: once here
        self.stage = None
        if shaping is not None:
            cal = model.calibration
            self.stage = Switching(shaping, cal["mean"], cal["std"], cal["loudness"]["mean"],
                                   cal["loudness"]["std"])
        self.pins = pin_mapping(num_bins, custom_channel_mapping)
        self.input_range = model.input_range
        if self.input_range is not None:
            self._lo, self._hi = self.input_range   # float32 (513,), checked at load

    def __call__(self, data) -> np.ndarray:
        """One chunk (interleaved int16 bytes or array) -> float32 ``(num_bins,)`` levels.

        Zeros for a silent chunk, as LightShowPi. Raises :class:`PluginError`
        when the encoder gives NaN/Inf.
        """
        x = features.chunk_features(data, self.channels, self.audio_rate,
                                    self.model.sample_rate, self.engine)
        if x is None:
            return np.zeros(self.num_bins, dtype=np.float32)
        if self.input_range is not None:
            # training clipped its scaled frames to [0, 1]: the same bound, unscaled
            # (in place: x is this call's own array; np.clip costs 3x as much)
            np.maximum(x, self._lo, out=x)
            np.minimum(x, self._hi, out=x)
        z = self.encoder(x)
        # the sum is NaN/Inf iff some value is, or the values are beyond any sane level
        # (float32 overflow needs |z| > 4e37): a model to refuse either way
        if not math.isfinite(z.sum()):
            raise PluginError("model gave non-finite channel values", self.model.path, _REPLACE)
        if self.stage is None:
            # finite: z is, and the calibration's gain and offset are (checked at load);
            # a product that overflows float32 is clipped to [3, 21] like any other
            row = self.calibration(z)
        else:
            samples = (len(data) // 2 if type(data) is bytes
                       else data.size if isinstance(data, np.ndarray)
                       else memoryview(data).nbytes // 2)
            row = self.stage(z, x, float(features.total_log_power(x)),
                             (samples // self.channels) / self.audio_rate)
            # the levels LightShowPi caches and lights: the same failure as the encoder's
            if not math.isfinite(row.sum()):
                raise PluginError("model gave non-finite levels after switching",
                                  self.model.path, _REPLACE)
        return row if self.pins is None else row[self.pins]

    def song(self, pcm: np.ndarray, chunk_size: int) -> np.ndarray:
        """All rows of a decoded song: int16 ``(frames, channels)`` -> ``(n_chunks, num_bins)``."""
        pcm = np.asarray(pcm, dtype=np.int16)
        if pcm.ndim == 1:
            pcm = pcm[:, None]
        n = -(-pcm.shape[0] // chunk_size)
        return np.array([self(pcm[i * chunk_size:(i + 1) * chunk_size]) for i in range(n)],
                        dtype=np.float32).reshape(n, self.num_bins)
