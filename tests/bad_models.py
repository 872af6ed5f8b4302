"""Hostile edits of the shipped model's metadata, re-signed so only the values are wrong.

Each case of issue 15 (and a few neighbours): ``(name, edit, field)`` where
``edit(meta)`` changes the parsed ``default.json`` in place (or returns the raw
text to write instead, for a file no JSON writer would produce) and ``field``
is the text the refusal must name. :func:`write` puts the edited model in a
folder and re-signs it with ``modelfile.content_id``.
"""
import json
import math
import os
import shutil

from lightshowpi_autoencoder import modelfile


def _set(path, value, drop_shaping=False):
    def edit(meta):
        *parents, last = path
        node = meta
        for key in parents:
            node = node[key]
        node[last] = value(node[last]) if callable(value) else value
        if drop_shaping:
            meta.pop("shaping", None)
    return edit


def _swap_range(meta):
    rng = meta["input_range"]
    rng["min"], rng["max"] = rng["max"], rng["min"]


def _nested(depth):
    def edit(meta):
        text = json.dumps(dict(meta, training="@NEST@"))
        return text.replace('"@NEST@"', "[" * depth + "]" * depth)
    return edit


def _huge(meta):
    meta["training"]["notes"] = "x" * (modelfile.MAX_JSON_BYTES + 1)


NAN = math.nan
CASES = [
    ("mean-nan-no-shaping", _set(("calibration", "mean"), [NAN] * 8, drop_shaping=True),
     "calibration.mean[0]"),
    ("mean-1e308", _set(("calibration", "mean"), lambda m: [1e308] + m[1:]), "calibration.mean[0]"),
    ("input-range-swapped", _swap_range, "input_range.min must be below input_range.max"),
    ("flux-bands-1e7", _set(("shaping", "flux_bands"), 1e7), "shaping.flux_bands"),
    ("flux-bands-1e9", _set(("shaping", "flux_bands"), 1e9), "shaping.flux_bands"),
    ("format-version-list", _set(("format_version",), [2]), "format_version"),
    ("feature-version-null", _set(("feature_version",), None), "feature_version"),
    ("nested-200000", _nested(200000), "nested more than"),
    ("input-range-strings", _set(("input_range", "min"), ["low"] * 513), "input_range.min[0]"),
    ("std-1e300", _set(("calibration", "std"), lambda s: [1e300] + s[1:]), "calibration.std[0]"),
    ("sample-rate-nan", _set(("sample_rate",), NAN), "sample_rate"),
    ("min-on-1e308", _set(("shaping", "min_on_s"), 1e308), "shaping.min_on_s"),
    ("push-string", _set(("shaping", "push"), "4"), "shaping.push"),
    ("loudness-std-zero", _set(("calibration", "loudness", "std"), 0.0), "calibration.loudness.std"),
    ("loudness-missing", lambda meta: meta["calibration"].pop("loudness") and None,
     "calibration.loudness"),
    ("std-zero", _set(("calibration", "std"), lambda s: s[:7] + [0.0]), "calibration.std[7]"),
    ("channels-true", _set(("channels",), True), "channels"),
    ("unknown-shaping-key", _set(("shaping", "long"), {"picks": 1.5}), "shaping.long"),
    ("too-big", _huge, "over the limit"),
    ("bands-per-octave-zero", _set(("input_bands_per_octave",), 0.0), "input_bands_per_octave"),
    ("bands-per-octave-string", _set(("input_bands_per_octave",), "6"), "input_bands_per_octave"),
    ("input-size-bins-for-bands", _set(("input_size",), 513), "input_size"),
    ("bands-dropped", lambda meta: meta.pop("input_bands_per_octave") and None, "input_size"),
]


def write(folder, edit, name="bad"):
    """The shipped model with ``edit`` applied and re-signed, in ``folder``: the .tflite path."""
    src_tfl = modelfile.default_model_path()
    src_json = modelfile.model_paths(src_tfl)[1]
    os.makedirs(str(folder), exist_ok=True)
    tfl = os.path.join(str(folder), name + ".tflite")
    shutil.copyfile(src_tfl, tfl)
    meta = json.load(open(src_json))
    text = edit(meta)
    if text is None:
        meta.pop("model_id")
        meta["model_id"] = modelfile.content_id(open(tfl, "rb").read(), meta)
        text = json.dumps(meta)
    with open(os.path.join(str(folder), name + ".json"), "w") as fh:
        fh.write(text)
    return tfl
