"""The adapter LightShowPi sees: a subclass of its own ``fft.FFT``.

LightShowPi builds ``fft.FFT(...)`` once per song and calls
``calculate_levels(chunk)`` for each chunk, ``compare_config(cache)`` to decide
whether a ``.<song>.sync`` cache is valid, and ``save_config()`` after writing
one. :func:`install` swaps the module's ``FFT`` for a subclass that

* computes levels with :class:`pipeline.ChunkPipeline` (the model's encoder),
* falls back to LightShowPi's own buckets for the song, with one log line
  saying what and how to fix it, when the model or a chunk fails (or stops
  the show with that message when ``autoencoder_strict = on``),
* marks its caches so that LightShowPi without the plugin, the plugin with
  another model, and the plugin reading a bucket cache all regenerate, and
  records the digest of the rows it vouches for, so a half-written pair or a
  cache holding NaN/Inf is regenerated too (:mod:`syncfile`),
* logs the configuration lines it could not read (:mod:`settings`) when
  LightShowPi makes the FFT object, once LightShowPi's log exists.
"""
from __future__ import annotations

import configparser
import logging
import math
import os
from typing import Any, Optional

import numpy as np

from . import modelfile, stop, syncfile
from .errors import PluginError
from .settings import Settings, read_settings, song_settings

log = logging.getLogger("lightshowpi_autoencoder")

#: Written as ``custom_channel_frequencies`` in a plugin cache's ``[fft]``
#: section: LightShowPi parses it as an int and finds it unequal to any real
#: setting, so without the plugin it regenerates the cache.
CACHE_SENTINEL = "-1"
MIXED = "fallback-mixed"
#: the model id of a cache whose rows are not all finite: valid for nobody
NON_FINITE = "non-finite-rows"
_FFT_KEYS = ("chunk_size", "sample_rate", "num_bins", "min_frequency", "max_frequency",
             "custom_channel_mapping", "input_channels")


def _pcm_even(data: Any) -> Any:
    """Bytes cut to whole int16 samples: LightShowPi's own FFT cannot take an odd byte count."""
    if isinstance(data, (bytes, bytearray, memoryview)) and len(data) % 2:
        return bytes(data[: len(data) - 1])
    return data


def make_class(base: type, settings_reader=read_settings) -> type:
    """Subclass LightShowPi's ``FFT`` class ``base`` (from either fork)."""

    class AutoencoderFFT(base):  # type: ignore[misc, valid-type]
        """LightShowPi's FFT with the learned channel mapping; see :mod:`host`."""

        plugin = "lightshowpi_autoencoder"

        def __init__(self, chunk_size, sample_rate, num_bins, min_frequency, max_frequency,
                     custom_channel_mapping, custom_channel_frequencies, input_channels=2,
                     use_gpu=True):
            # The GPU library allows one AudioLevels per process: never let the
            # host make its 8-band one before we know whether we need our 513-band one.
            super().__init__(chunk_size, sample_rate, num_bins, min_frequency, max_frequency,
                             custom_channel_mapping, custom_channel_frequencies, input_channels,
                             False)
            self._gpu_requested = bool(use_gpu) and hasattr(_host_module(base), "AudioLevels")
            self.use_gpu = False
            self.pipeline = None
            self._state = "new"        # new -> active | buckets
            self._rows_from_model = 0
            self._mixed = False
            self._cache_filename = None
            self._reported: set = set()
            try:
                self._settings = settings_reader()
            except Exception as exc:
                self._settings = Settings(enabled=True)
                self._fail(exc)
            else:
                self._report(self._settings)

        def _report(self, settings: Settings) -> None:
            """Log each configuration line that could not be read, once per song."""
            for problem in settings.problems:
                if problem not in self._reported:
                    self._reported.add(problem)
                    log.error("lightshowpi_autoencoder: %s", problem)

        # -- choosing the model -------------------------------------------------
        def _activate(self, song_cfg: Optional[str]) -> None:
            if self._state != "new":
                return
            try:
                settings = song_settings(self._settings, song_cfg)
            except Exception as exc:
                self._fail(exc)
                return
            self._report(settings)
            self._settings = settings    # a song's own autoencoder_strict counts for its song
            if not settings.enabled:
                log.info("lightshowpi_autoencoder: off for this song (%s); using "
                         "LightShowPi's buckets", settings.source or "configuration")
                self._use_buckets()
                return
            try:
                from .pipeline import ChunkPipeline
                model = modelfile.load(settings.model or modelfile.default_model_path(),
                                       settings.model_source if settings.model else None)
                engine = None
                if self._gpu_requested:
                    from .gpu_fft import process_engine
                    engine = process_engine()   # None: refused, numpy's FFT instead (logged once)
                self.pipeline = ChunkPipeline(model, self.num_bins, self.custom_channel_mapping,
                                              self.sample_rate, self.input_channels, engine)
            except Exception as exc:
                self._fail(exc)
                return
            self._state = "active"
            log.info("lightshowpi_autoencoder: model %s (id %s, %d channels, trained at %g Hz) "
                     "on %s FFT, audio %g Hz", model.path, model.model_id, model.channels,
                     model.sample_rate, _engine_name(engine, self._gpu_requested), self.sample_rate)

        def _fail(self, exc: Exception) -> None:
            """One log line, then the show goes on with LightShowPi's buckets (or stops if strict)."""
            msg = str(exc) if isinstance(exc, PluginError) else "%s: %s" % (type(exc).__name__, exc)
            settings = getattr(self, "_settings", Settings())
            if settings.strict:
                where = settings.strict_source
                stop.stop("lightshowpi_autoencoder: %s (autoencoder_strict = on%s: show stopped)"
                          % (msg, " in %s" % where if where and where not in msg else ""))
            log.error("lightshowpi_autoencoder: %s; falling back to LightShowPi's frequency "
                      "buckets for this song", msg)
            if self._rows_from_model:
                self._mixed = True
            self._use_buckets()

        def _use_buckets(self) -> None:
            from .gpu_fft import instance_made
            self.pipeline = None
            self._state = "buckets"
            # one AudioLevels per process: once the plugin has made its own (accepted or
            # refused, this song or an earlier one), the host's buckets use numpy's FFT
            if self._gpu_requested and not instance_made():
                # exactly what the host's own __init__ would have made
                self.audio_levels = _host_module(base).AudioLevels(
                    math.log(self.chunk_size / 2, 2), self.num_bins)
                self.use_gpu = True

        # -- the per-chunk stage ------------------------------------------------
        def calculate_levels(self, data):
            if self._state == "new":
                self._activate(None)
            if self.pipeline is not None:
                try:
                    row = self.pipeline(data)
                    self._rows_from_model += 1
                    return row
                except Exception as exc:
                    self._fail(exc)
            try:
                return super().calculate_levels(_pcm_even(data))
            except Exception as exc:  # a chunk even LightShowPi chokes on: dark, not a crash
                log.warning("lightshowpi_autoencoder: LightShowPi's FFT failed on a chunk "
                            "(%s); lights off for it", exc)
                return np.zeros(self.num_bins, dtype=np.float32)

        # -- caches -------------------------------------------------------------
        def compare_config(self, cache_filename):
            cfg_path = cache_filename.replace(".sync", ".cfg")
            self._activate(cfg_path)
            if self._state != "active":
                return super().compare_config(cache_filename)
            self.config_filename = cfg_path
            self._cache_filename = cache_filename
            self.config = configparser.RawConfigParser(allow_no_value=True)
            name = os.path.basename(cache_filename)
            try:
                with open(cfg_path) as fh:
                    self.config.read_file(fh)
                cached = {k: self.config.get("fft", k) for k in _FFT_KEYS}
                cached_model = self.config.get("fft", "autoencoder_model_id")
            except (OSError, configparser.Error):
                self._note_cache("no plugin cache for %s; one will be made" % name)
                return False
            if cached_model != self.pipeline.model.model_id or cached != self._fft_values():
                self._note_cache("cache %s was made %s; regenerating" % (
                    name, "by another model (%s)" % cached_model
                    if cached_model != self.pipeline.model.model_id else "with other settings"))
                return False
            state = syncfile.inspect(cache_filename)
            recorded = (self.config.get("fft", "autoencoder_sync_sha256")
                        if self.config.has_option("fft", "autoencoder_sync_sha256") else None)
            if state is None or state.sha256 != recorded:
                self._note_cache("cache %s does not match its %s (%s); regenerating" % (
                    name, os.path.basename(cfg_path),
                    "no rows" if state is None else "written by an older plugin"
                    if recorded is None else "the rows were rewritten after it"))
                return False
            if not state.finite:
                self._note_cache("cache %s holds NaN/Inf levels; regenerating" % name)
                return False
            return True

        def _note_cache(self, message: str) -> None:
            # LightShowPi asks up to three times per song: say it once
            if message != getattr(self, "_last_cache_note", None):
                self._last_cache_note = message
                log.info("lightshowpi_autoencoder: %s", message)

        def _fft_values(self):
            mapping = self.custom_channel_mapping
            return {"chunk_size": str(self.chunk_size), "sample_rate": str(self.sample_rate),
                    "num_bins": str(self.num_bins), "min_frequency": str(self.min_frequency),
                    "max_frequency": str(self.max_frequency),
                    "custom_channel_mapping": str(mapping)[1:-1] if isinstance(mapping, list)
                    else str(mapping),
                    "input_channels": str(self.input_channels)}

        def save_config(self):
            if self._state != "active" and not self._mixed:
                return super().save_config()
            if not self.config_filename:
                return None
            if self.config.has_section("fft"):
                self.config.remove_section("fft")
            self.config.add_section("fft")
            self.config.set("fft", "# DO NOT EDIT THIS SECTION")
            self.config.set("fft", "# written by lightshowpi_autoencoder: custom_channel_frequencies "
                                   "= -1 makes LightShowPi without the plugin regenerate this cache")
            for key, value in self._fft_values().items():
                self.config.set("fft", key, value)
            self.config.set("fft", "custom_channel_frequencies", CACHE_SENTINEL)
            # LightShowPi has just written the rows: vouch for exactly these
            state = syncfile.inspect(self._cache_filename, fresh=True) if self._cache_filename else None
            if self._mixed:
                # part model, part buckets: valid for nobody, so the next play regenerates
                self.config.set("fft", "autoencoder_model_id", MIXED)
            elif state is not None and not state.finite:
                self.config.set("fft", "autoencoder_model_id", NON_FINITE)
            else:
                model = self.pipeline.model
                self.config.set("fft", "autoencoder_model_id", model.model_id)
                self.config.set("fft", "autoencoder_model", model.path)
            if state is not None:
                self.config.set("fft", "autoencoder_sync_sha256", state.sha256)
            try:
                with open(self.config_filename, "w") as fh:
                    self.config.write(fh)
            except OSError as exc:
                # the show goes on; the rows just written no longer match the old .cfg
                # (if any), so the next play regenerates them
                log.error("lightshowpi_autoencoder: could not write the cache's settings (%s); "
                          "file: %s; fix: make the song's folder and its .cfg writable; the "
                          "next play regenerates the cache", exc.strerror or exc,
                          self.config_filename)
            return None

    AutoencoderFFT.__name__ = "FFT"
    AutoencoderFFT.__qualname__ = "FFT"
    AutoencoderFFT.__module__ = base.__module__
    return AutoencoderFFT


def _engine_name(engine: Any, requested: bool) -> str:
    """How the spectrum is computed, for the model log line."""
    if engine is not None:
        from .gpu_fft import library_file
        return "GPU (%s)" % library_file(engine.library)
    return "numpy (the GPU library was refused, see above)" if requested else "numpy"


def _host_module(base: type):
    import sys
    return sys.modules.get(base.__module__)


def install(fft_module: Any, settings: Optional[Settings] = None) -> bool:
    """Swap ``fft_module.FFT`` for the plugin's subclass when the configuration enables it,
    or has plugin lines it could not read (the subclass then logs them when LightShowPi
    makes the FFT object, and plays LightShowPi's buckets unless the plugin is on).

    :returns: True if installed. Never raises: a problem is logged and the host
        keeps its own FFT.
    """
    try:
        settings = settings if settings is not None else read_settings()
        if not settings.enabled and not settings.problems:
            return False
        base = fft_module.FFT
        if getattr(base, "plugin", None) == "lightshowpi_autoencoder":
            return True
        fft_module.FFT = make_class(base)
        fft_module.FFT_WITHOUT_AUTOENCODER = base
        return True
    except Exception as exc:
        logging.getLogger("lightshowpi_autoencoder").error(
            "lightshowpi_autoencoder: not enabled (%s: %s); LightShowPi runs with its own "
            "buckets. Check the autoencoder lines in overrides.cfg", type(exc).__name__, exc)
        return False
