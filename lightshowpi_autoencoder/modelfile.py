"""A model on disk: ``NAME.tflite`` (the encoder) beside ``NAME.json`` (what the
runtime needs to check and calibrate it). ``train/`` writes both.

The JSON holds (limits in brackets; :func:`load` refuses a model outside them,
naming the field, the file and the fix)::

    format            "lightshowpi-autoencoder"      format_version 4 [whole number;
                      a newer one asks for a plugin upgrade]
    feature_version   features.FEATURE_VERSION the model was trained with [equal]
    sample_rate       [Hz] the training audio's rate (the model's bin grid) [8000..192000]
    input_size        what the encoder reads: 513 bins, or with
                      input_bands_per_octave the number of bands
                      (features.band_plan; 43 at 6 per octave) [equal]
    input_bands_per_octave  the encoder reads the frame's band means
                      (features.band_means), not its bins (optional; format 4:
                      an older plugin asks for an upgrade) [1..48]
    channels          encoder width = light channels it drives [1..513]
    calibration       {"mean": [channels], "std": [channels]} of the encoder
                      outputs over the training frames (see levels.py)
                      [finite; |mean| <= 1e4; 1e-7 < std <= 1e4]; with shaping
                      also {"loudness": {"mean", "std"}} of the frames'
                      features.total_log_power [log10 FS**2] [|mean| <= 30;
                      1e-7 < std <= 30]
    input_range       {"min": [513], "max": [513]} log10 power seen in training;
                      the runtime clips its input to it (optional)
                      [finite, in -30..30; min <= max in every bin, < in some]
    shaping           {"kind": "switching", ...} the stage that switches the
                      lights (switching.py; optional. Format 2 had an onset
                      gate here, format 3 this stage: an older plugin refuses
                      format 3 and asks for an upgrade) [switching.LIMITS]
    tflite_sha256     hex digest of the .tflite bytes
    model_id          hash of both files' content (caches record it)
    training          songs (name, sha256, seconds), command, preset, seed, losses
                      [an object; read by train/ only]

The file itself is at most :data:`MAX_JSON_BYTES` and nests at most
:data:`MAX_JSON_DEPTH` deep, checked before it is parsed; the ``.tflite`` is at
most :data:`MAX_TFLITE_BYTES`.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from . import validate
from .errors import PluginError
from .features import FEATURE_VERSION, N_BINS, encoder_input_size

FORMAT = "lightshowpi-autoencoder"
FORMAT_VERSION = 4
#: the limits of input_bands_per_octave (those of the switching stage's flux_bands)
BANDS_PER_OCTAVE = (1.0, 48.0)
_PACKAGED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")
_SOURCE_TREE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models")
DEFAULT_NAME = "default"
RETRAIN = "retrain it with `python -m train fit` or set autoencoder_model to a model made by train/"


def default_model_path() -> str:
    """Path of the shipped default model (installed package first, then the source tree)."""
    for folder in (_PACKAGED, _SOURCE_TREE):
        candidate = os.path.join(folder, DEFAULT_NAME + ".tflite")
        if os.path.isfile(candidate):
            return candidate
    return os.path.join(_PACKAGED, DEFAULT_NAME + ".tflite")


def model_paths(path: str) -> tuple[str, str]:
    """``(tflite, json)`` paths for a model named by either file or their common stem."""
    path = os.path.expanduser(path)
    stem, ext = os.path.splitext(path)
    if ext not in (".tflite", ".json"):
        stem = path
    return stem + ".tflite", stem + ".json"


def content_id(tflite: bytes, meta: Dict[str, Any]) -> str:
    """Hash of the model's content: the encoder bytes and every metadata field but the id."""
    body = {k: v for k, v in meta.items() if k != "model_id"}
    digest = hashlib.sha256(tflite)
    digest.update(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
    return digest.hexdigest()[:16]


@dataclass
class ModelFile:
    """A loaded, checked model: the TFLite bytes and its metadata."""

    path: str
    tflite: bytes
    meta: Dict[str, Any] = field(repr=False)

    @property
    def channels(self) -> int:
        return int(self.meta["channels"])

    @property
    def sample_rate(self) -> float:
        return float(self.meta["sample_rate"])

    @property
    def model_id(self) -> str:
        return str(self.meta["model_id"])

    @property
    def calibration(self) -> Dict[str, List[float]]:
        return self.meta["calibration"]

    @property
    def shaping(self):
        """The checked switching parameters (:mod:`switching`), or ``None`` for plain levels."""
        spec = self.meta.get("shaping")
        if not spec:
            return None
        from .switching import check
        return check(spec, self.channels)

    @property
    def input_bands(self) -> Optional[float]:
        """Bands per octave whose means the encoder reads, or ``None``: it reads the 513 bins."""
        bands = self.meta.get("input_bands_per_octave")
        return None if bands is None else float(bands)

    @property
    def input_size(self) -> int:
        """Values the encoder reads per chunk: 513 bins, or the number of bands."""
        return int(self.meta["input_size"])

    @property
    def input_range(self):
        """``(min, max)`` float32 ``(513,)`` arrays, or ``None`` when the model has none."""
        rng = self.meta.get("input_range")
        if not rng:
            return None
        import numpy as np
        return np.asarray(rng["min"], np.float32), np.asarray(rng["max"], np.float32)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


#: limits on the JSON before it is parsed (the shipped model's is 17 KB, 4 levels deep)
MAX_JSON_BYTES = 2 * 1024 * 1024
MAX_JSON_DEPTH = 16
#: an encoder of a few dense layers is well under a megabyte
MAX_TFLITE_BYTES = 64 * 1024 * 1024
#: documented limits of the values (see the module docstring)
SAMPLE_RATES = (8000.0, 192000.0)       # [Hz]
MAX_CHANNELS = N_BINS                   # a bottleneck no wider than its input
CAL_MEAN_ABS = 1e4                      # |calibration.mean| (tanh units are in (-1, 1))
CAL_STD = (1e-7, 1e4)                   # calibration.std, > 1e-7 (export floors it at 1e-6)
LOG_POWER = (-30.0, 30.0)               # input_range values [log10 power]; the floor is -12


def load(path: str, named_in: Optional[str] = None) -> ModelFile:
    """Read and check a model. Raises :class:`PluginError` naming the file and the fix.

    :param named_in: the configuration file whose ``autoencoder_model`` named
        ``path`` (for the fix of a missing model); None: the shipped model.
    """
    tfl_path, json_path = model_paths(path)
    if not os.path.isfile(tfl_path):
        raise PluginError("model not found", tfl_path,
                          "check autoencoder_model in %s" % named_in if named_in else
                          "reinstall the plugin with install.sh, or set autoencoder_model")
    if not os.path.isfile(json_path):
        raise PluginError("model metadata not found (it sits beside the .tflite)", json_path,
                          "copy the .json that train/ wrote with the model, or " + RETRAIN)
    try:
        if os.path.getsize(json_path) > MAX_JSON_BYTES:   # before reading it into memory
            raise validate.Invalid("%d bytes, over the limit of %d"
                                   % (os.path.getsize(json_path), MAX_JSON_BYTES))
        with open(json_path, "rb") as fh:
            meta = validate.parse_json(fh.read(MAX_JSON_BYTES + 1), MAX_JSON_BYTES, MAX_JSON_DEPTH)
    except (OSError, validate.Invalid) as exc:
        raise PluginError("model metadata unreadable (%s)" % exc, json_path, RETRAIN) from None
    try:
        size = os.path.getsize(tfl_path)
        if size > MAX_TFLITE_BYTES:
            raise PluginError("model is %d bytes, over the limit of %d (the shipped one is "
                              "0.3 MB)" % (size, MAX_TFLITE_BYTES), tfl_path, RETRAIN)
        with open(tfl_path, "rb") as fh:
            tflite = fh.read()
    except OSError as exc:
        raise PluginError("model unreadable (%s)" % exc, tfl_path, RETRAIN) from None
    try:
        _check_meta(meta)
    except _TooNew as exc:
        raise PluginError(str(exc), json_path, "upgrade the plugin with install.sh") from None
    except validate.Invalid as exc:
        raise PluginError("model metadata invalid: %s" % exc, json_path, RETRAIN) from None
    if hashlib.sha256(tflite).hexdigest() != meta["tflite_sha256"]:
        raise PluginError("model file does not match its metadata (corrupt or mixed up)",
                          tfl_path, "copy the .tflite and .json of one export together, or "
                          + RETRAIN)
    if meta["model_id"] != content_id(tflite, meta):
        raise PluginError("model metadata was edited after export", json_path, RETRAIN)
    return ModelFile(path=tfl_path, tflite=tflite, meta=meta)


class _TooNew(validate.Invalid):
    pass


def _check_meta(meta: Any) -> None:
    """Every field the runtime reads, within its limits; raises :class:`validate.Invalid`."""
    v = validate
    v.table(meta, "the metadata")
    if meta.get("format") != FORMAT:
        raise v.Invalid("format is %s, not a %s model" % (v.show(meta.get("format")), FORMAT))
    version = v.whole(meta.get("format_version"), "format_version", 1, 2 ** 31)
    if version > FORMAT_VERSION:
        raise _TooNew("model format %d is newer than this plugin reads (%d)"
                      % (version, FORMAT_VERSION))
    feature = v.whole(meta.get("feature_version"), "feature_version", 0, 2 ** 31)
    if feature != FEATURE_VERSION:
        raise v.Invalid("feature_version is %d: the model was trained on other features than "
                        "this plugin computes (%d)" % (feature, FEATURE_VERSION))
    bands = meta.get("input_bands_per_octave")
    if bands is not None:
        bands = v.real(bands, "input_bands_per_octave", *BANDS_PER_OCTAVE)
    size = encoder_input_size(bands)
    v.whole(meta.get("input_size"), "input_size", size, size)
    channels = v.whole(meta.get("channels"), "channels", 1, MAX_CHANNELS)
    v.real(meta.get("sample_rate"), "sample_rate", *SAMPLE_RATES)
    cal = v.table(meta.get("calibration"), "calibration")
    v.reals(cal.get("mean"), "calibration.mean", channels, -CAL_MEAN_ABS, CAL_MEAN_ABS)
    v.reals(cal.get("std"), "calibration.std", channels, *CAL_STD, lo_open=True)
    if meta.get("input_range") is not None:
        rng = v.table(meta["input_range"], "input_range")
        lo = v.reals(rng.get("min"), "input_range.min", N_BINS, *LOG_POWER)
        hi = v.reals(rng.get("max"), "input_range.max", N_BINS, *LOG_POWER)
        bad = [i for i in range(N_BINS) if lo[i] > hi[i]]
        if bad or lo == hi:
            raise v.Invalid("input_range.min must be below input_range.max (%s)"
                            % ("not in bin %d" % bad[0] if bad else "equal in every bin"))
    if meta.get("shaping"):
        from .switching import check
        try:
            check(meta["shaping"], channels)
        except v.Invalid:
            raise
        except (ValueError, TypeError) as exc:
            raise v.Invalid("shaping: %s" % exc) from None
        loud = v.table(cal.get("loudness"), "calibration.loudness")
        v.real(loud.get("mean"), "calibration.loudness.mean", *LOG_POWER)
        v.real(loud.get("std"), "calibration.loudness.std", CAL_STD[0], LOG_POWER[1], lo_open=True)
    if meta.get("training") is not None:
        v.table(meta["training"], "training")      # informational: read by train/ only
    v.text(meta.get("tflite_sha256"), "tflite_sha256", "[0-9a-f]{64}")
    v.text(meta.get("model_id"), "model_id", "[0-9a-f]{16}")


def save(path: str, tflite: bytes, meta: Dict[str, Any]) -> ModelFile:
    """Write ``NAME.tflite`` and ``NAME.json``, filling in the hashes. Returns the loaded model."""
    tfl_path, json_path = model_paths(path)
    meta = dict(meta, format=FORMAT, format_version=FORMAT_VERSION,
                feature_version=FEATURE_VERSION,
                input_size=encoder_input_size(meta.get("input_bands_per_octave")),
                tflite_sha256=hashlib.sha256(tflite).hexdigest())
    meta["model_id"] = content_id(tflite, meta)
    os.makedirs(os.path.dirname(os.path.abspath(tfl_path)), exist_ok=True)
    with open(tfl_path, "wb") as fh:
        fh.write(tflite)
    with open(json_path, "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=1, sort_keys=True)
        fh.write("\n")
    return load(tfl_path)
