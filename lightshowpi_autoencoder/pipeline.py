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
from .feature_stream import BandMeans, ChunkFeatures
from .encoder import Encoder
from .errors import PluginError
from .levels import Calibration, Mapping, encoder_width, pin_mapping
from .modelfile import ModelFile
from .switching import Switching

_REPLACE = "retrain or replace the model (python -m train fit)"
#: bound on |ChunkPipeline._loudness() - features.total_log_power(x)| [log10 FS**2]: twice
#: the float32 rounding of a log10 power below 16 in size (2**-21 = 4.8e-7)
LOUDNESS_ERROR = 1e-6


def _finite(a: np.ndarray) -> bool:
    """Whether every value of a small float32 array ``(n,)`` is finite.

    Their sum in Python floats (float64) is finite iff they all are: a NaN or an Inf
    makes it NaN or Inf, and float32 values (below 3.5e38 in size) cannot add up to an
    overflow in float64. One ``tolist`` and a Python sum cost less than any numpy
    reduction here (~3 us of setup, whatever the size).
    """
    return math.isfinite(sum(a.tolist()))


def _exact_loudness(x: np.ndarray) -> float:
    """The loudness as defined: :func:`features.total_log_power` of the clipped frame."""
    return float(features.total_log_power(x))


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
        bands = model.input_bands
        # the encoder's input tensor, when it has one: the features are logged straight
        # into it (513 bins), or the band means copied there (a band-input model)
        buffer = self.encoder.input_buffer()
        if buffer is not None and buffer.shape != (1, model.input_size):
            buffer = None
        # training clipped its scaled frames to [0, 1]: the same bound, unscaled
        self.features = ChunkFeatures(self.channels, self.audio_rate,
                                      model.sample_rate, engine,
                                      out=buffer if bands is None else None,
                                      clip=self.input_range)
        self._seconds: dict = {}
        if self.stage is not None and not self.features.remap:
            # the stage gets _loudness(), within LOUDNESS_ERROR of the definition: it
            # takes any decision that close to its line on the definition instead
            self.stage.loudness_check(_exact_loudness, LOUDNESS_ERROR)
        #: band-input model: the band means of the frame (the stage's own when it takes
        #: the same bands: one computation for both), and the encoder's input they go to
        self._bands = None
        self._listens = False
        if bands is not None:
            self._listens = (self.stage is not None and np.array_equal(
                self.stage.bands.starts, features.band_plan(bands)[0]))
            self._bands = self.stage.listen if self._listens else BandMeans(bands)
            inp = buffer if buffer is not None else np.zeros((1, model.input_size), np.float32)
            self._input = inp.reshape(-1)       # a view: writing it writes the tensor
            self._encode = self.encoder.in_place(inp)
        else:
            # the encoder, run on the features' frame (in place: the interpreter's input tensor)
            self._encode = self.encoder.in_place(self.features.frame)

    def __call__(self, data) -> np.ndarray:
        """One chunk (interleaved int16 bytes or array) -> float32 ``(num_bins,)`` levels.

        Zeros for a silent chunk, as LightShowPi. Raises :class:`PluginError`
        when the encoder gives NaN/Inf.
        """
        x = self.features(data)
        if x is None:
            return np.zeros(self.num_bins, dtype=np.float32)
        if self._bands is not None:
            np.copyto(self._input, self._bands(x), casting="same_kind")
        z = self._encode()
        if not _finite(z):
            raise PluginError("model gave non-finite channel values", self.model.path, _REPLACE)
        if self.stage is None:
            # finite: z is, and the calibration's gain and offset are (checked at load);
            # a product that overflows float32 is clipped to [3, 21] like any other
            row = self.calibration(z)
        else:
            samples = (len(data) // 2 if type(data) is bytes
                       else data.size if isinstance(data, np.ndarray)
                       else memoryview(data).nbytes // 2)
            seconds = self._seconds.get(samples)
            if seconds is None:
                seconds = self._seconds[samples] = (samples // self.channels) / self.audio_rate
            loudness = (self._loudness() if not self.features.remap
                        else float(features.total_log_power(x)))
            row = (self.stage.decide(z, loudness, seconds) if self._listens
                   else self.stage(z, x, loudness, seconds))
            # the levels LightShowPi caches and lights: the same failure as the encoder's.
            # Switching's are finite whenever z is (checked above) and the loudness is
            # (a log of a positive sum): |z| < 3.5e38, 1/std <= 1e7 and alpha <= 10 keep
            # every step far below float64's overflow, and the levels are clipped after.
            # So the check can only fail for another stage (tests put one in its place).
            if type(self.stage) is not Switching and not _finite(row):
                raise PluginError("model gave non-finite levels after switching",
                                  self.model.path, _REPLACE)
        return row if self.pins is None else row[self.pins]

    def _loudness(self) -> float:
        """``features.total_log_power(x)`` of the chunk just analysed, within ``LOUDNESS_ERROR``.

        Summed from the linear power the features were logged from (clipped to the
        training range as ``x`` is), instead of raising 512 log powers back to powers
        (15 us a chunk, the largest stage after the FFT). The two differ only by the
        float32 rounding of ``x``: half a unit in the last place of a log10 power below
        16 in size is 2**-21 = 4.8e-7, 1.1e-6 relative in each power, so at most 4.8e-7
        in the loudness (the bound, LOUDNESS_ERROR, is twice that).
        """
        return math.log10(np.add.reduce(self.features.power_ac))

    def song(self, pcm: np.ndarray, chunk_size: int) -> np.ndarray:
        """All rows of a decoded song: int16 ``(frames, channels)`` -> ``(n_chunks, num_bins)``."""
        pcm = np.asarray(pcm, dtype=np.int16)
        if pcm.ndim == 1:
            pcm = pcm[:, None]
        n = -(-pcm.shape[0] // chunk_size)
        return np.array([self(pcm[i * chunk_size:(i + 1) * chunk_size]) for i in range(n)],
                        dtype=np.float32).reshape(n, self.num_bins)
