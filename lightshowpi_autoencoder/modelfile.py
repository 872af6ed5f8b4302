"""A model on disk: ``NAME.tflite`` (the encoder) beside ``NAME.json`` (what the
runtime needs to check and calibrate it). ``train/`` writes both.

The JSON holds::

    format            "lightshowpi-autoencoder"      format_version 3
    feature_version   features.FEATURE_VERSION the model was trained with
    sample_rate       [Hz] the training audio's rate (the model's bin grid)
    input_size        513
    channels          encoder width = light channels it drives
    calibration       {"mean": [channels], "std": [channels]} of the encoder
                      outputs over the training frames (see levels.py), and with
                      shaping {"loudness": {"mean", "std"}} of the frames'
                      features.total_log_power [log10 FS**2]
    input_range       {"min": [513], "max": [513]} log10 power seen in training;
                      the runtime clips its input to it (optional)
    shaping           {"kind": "switching", ...} the stage that switches the
                      lights (switching.py; optional. Format 2 had an onset
                      gate here, format 3 this stage: an older plugin refuses
                      format 3 and asks for an upgrade)
    tflite_sha256     hex digest of the .tflite bytes
    model_id          hash of both files' content (caches record it)
    training          songs (name, sha256, seconds), command, preset, seed, losses
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List

from .errors import PluginError
from .features import FEATURE_VERSION, N_BINS

FORMAT = "lightshowpi-autoencoder"
FORMAT_VERSION = 3
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


def load(path: str) -> ModelFile:
    """Read and check a model. Raises :class:`PluginError` naming the file and the fix."""
    tfl_path, json_path = model_paths(path)
    if not os.path.isfile(tfl_path):
        raise PluginError("model not found", tfl_path,
                          "check autoencoder_model in overrides.cfg, or reinstall with install.sh")
    if not os.path.isfile(json_path):
        raise PluginError("model metadata not found (it sits beside the .tflite)", json_path,
                          "copy the .json that train/ wrote with the model, or " + RETRAIN)
    try:
        with open(tfl_path, "rb") as fh:
            tflite = fh.read()
        with open(json_path, encoding="utf-8") as fh:
            meta = json.load(fh)
    except (OSError, ValueError) as exc:
        raise PluginError("model unreadable (%s)" % exc, json_path, RETRAIN) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise PluginError("not a lightshowpi-autoencoder model", json_path, RETRAIN)
    if int(meta.get("format_version", -1)) > FORMAT_VERSION:
        raise PluginError("model format %s is newer than this plugin reads (%d)"
                          % (meta.get("format_version"), FORMAT_VERSION), json_path,
                          "upgrade the plugin with install.sh")
    if int(meta.get("feature_version", -1)) != FEATURE_VERSION:
        raise PluginError("model was trained on feature version %s, this plugin computes %d"
                          % (meta.get("feature_version"), FEATURE_VERSION), json_path, RETRAIN)
    try:
        channels = int(meta["channels"])
        rate = float(meta["sample_rate"])
        size = int(meta["input_size"])
        cal = meta["calibration"]
        ok_cal = (len(cal["mean"]) == channels and len(cal["std"]) == channels
                  and all(float(s) > 0 for s in cal["std"]))
        rng = meta.get("input_range")
        ok_cal = ok_cal and (not rng or (len(rng["min"]) == N_BINS and len(rng["max"]) == N_BINS))
    except (KeyError, TypeError, ValueError):
        raise PluginError("model metadata incomplete (channels, sample_rate, input_size, "
                          "calibration)", json_path, RETRAIN) from None
    if meta.get("shaping"):
        from .switching import check
        try:
            check(meta["shaping"], channels)
            loud = cal["loudness"]
            if not (0 < float(loud["std"]) < 1e3 and abs(float(loud["mean"])) < 1e3):
                raise ValueError("calibration loudness needs a finite mean and a std in (0, 1000)")
        except (ValueError, TypeError, KeyError) as exc:
            raise PluginError("model shaping metadata invalid (%s)" % exc, json_path, RETRAIN) from None
    if size != N_BINS or channels < 1 or rate <= 0 or not ok_cal:
        raise PluginError("model metadata inconsistent (input_size %s, channels %s, "
                          "calibration)" % (size, channels), json_path, RETRAIN)
    if hashlib.sha256(tflite).hexdigest() != meta.get("tflite_sha256"):
        raise PluginError("model file does not match its metadata (corrupt or mixed up)",
                          tfl_path, "copy the .tflite and .json of one export together, or "
                          + RETRAIN)
    if meta.get("model_id") != content_id(tflite, meta):
        raise PluginError("model metadata was edited after export", json_path, RETRAIN)
    return ModelFile(path=tfl_path, tflite=tflite, meta=meta)


def save(path: str, tflite: bytes, meta: Dict[str, Any]) -> ModelFile:
    """Write ``NAME.tflite`` and ``NAME.json``, filling in the hashes. Returns the loaded model."""
    tfl_path, json_path = model_paths(path)
    meta = dict(meta, format=FORMAT, format_version=FORMAT_VERSION,
                feature_version=FEATURE_VERSION, input_size=N_BINS,
                tflite_sha256=hashlib.sha256(tflite).hexdigest())
    meta["model_id"] = content_id(tflite, meta)
    os.makedirs(os.path.dirname(os.path.abspath(tfl_path)), exist_ok=True)
    with open(tfl_path, "wb") as fh:
        fh.write(tflite)
    with open(json_path, "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=1, sort_keys=True)
        fh.write("\n")
    return load(tfl_path)
