"""Encoder units -> light levels: the stage between the model and LightShowPi.

Fed the encoder's units as they are, LightShowPi's rule (a light is ON while
its level is above the channel's mean plus a small part of its std) makes
lights that follow the learned sounds but flicker (ON for one 46 ms chunk),
ignore how loud the music is and switch at random moments between the beats.
This stage keeps the learned part and fixes those three, the same way for
every light and every model. Per chunk, light ``c``:

* **Level** ``v_c = u_c - common * mean(u) + alpha * l``: ``u_c`` is the
  unit's activation and ``l`` the chunk's loudness
  (:func:`features.total_log_power` [log10 FS**2]), each standardised with
  its training mean and std (fixed: the same sound always gives the same
  level). ``u_c`` says how much the chunk sounds like the light's learned
  sound; taking out ``common`` times the mean of all units keeps lights from
  moving together; ``alpha * l`` lets them swell with the music.
* **ON** when ``v_c > threshold + hysteresis`` and either the music has an
  onset in this chunk (its spectrum, averaged in ``flux_bands`` bands per
  octave, rose by more than ``flux`` [log10 power] since the previous chunk:
  the light lands on the beat) or the light has been waiting ``wait_s``
  seconds (a sound that fades in still shows).
* **OFF** when ``v_c < threshold - hysteresis`` and the light has been ON for
  at least ``min_on_s`` seconds (no flash a viewer reads as flicker).

The light's level is ``12 + 1.5 * (v_c + push * (on - 0.5))``, softly limited
to 12 +- 7.5 (``5 tanh(x / 5)``): the ON/OFF decision moves it ``push`` (in std
units) up or down, and ``v_c`` stays in it, held at its maximum over the last
``hold_level`` seconds. On LightShowPi's first play (mean 12, std 1.5, no
song statistics yet) the decision shows as is. From the second play on
LightShowPi thresholds each light at its own song mean (its ``.sync``
statistics): for a light that fits the song the decision still shows; a light
that the fixed training statistics would leave ON (or OFF) through a whole
song is then switched by its level alone. So no light is stuck, yet the
statistics never drift during a song (a repeated passage gets the same
lights), and pwm pins fade with ``v_c``.

All durations are in seconds, so the show keeps its timing at chunk 2048
(original LightShowPi) and 4096 (Neo), 44.1 or 48 kHz. Everything is causal:
audio-in and stream-in get the same show as a file (LightShowPi keeps running
statistics there). State lives in one :class:`Switching` per song
(LightShowPi makes one FFT object per song).
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np

from .levels import HOST_MEAN, HOST_STD

KIND = "switching"
#: the shipped model's settings (chosen on held-out songs: docs/show-quality.md)
DEFAULTS: Dict[str, float] = {"alpha": 0.7, "common": 1.0, "threshold": 0.125,
                              "hysteresis": 0.2, "flux": 0.15, "flux_bands": 6.0,
                              "wait_s": 0.3, "min_on_s": 0.12, "push": 4.0,
                              "hold_level": 0.12}
#: documented limits of each setting (inclusive): a model outside them is refused
LIMITS: Dict[str, Tuple[float, float]] = {
    "alpha": (0.0, 10.0), "common": (0.0, 1.0), "threshold": (-3.0, 3.0),
    "hysteresis": (0.0, 3.0), "flux": (0.0, 10.0), "flux_bands": (1.0, 48.0),
    "wait_s": (0.0, 10.0), "min_on_s": (0.0, 10.0), "push": (0.0, 8.0),
    "hold_level": (0.0, 1.0)}
#: levels stay within 12 +- CLIP * 1.5 (a soft limit): positive, as LightShowPi's cache keeps
#: positive levels only
CLIP = 5.0


def check(spec: Any, channels: int) -> Dict[str, float]:
    """Validate a model's ``shaping`` metadata; returns the full parameter dict.

    :raises ValueError: with what is wrong (the caller names the file).
    """
    if not isinstance(spec, Mapping) or spec.get("kind") != KIND:
        raise ValueError("shaping kind must be %r" % KIND)
    unknown = sorted(set(spec) - set(LIMITS) - {"kind"})
    if unknown:
        raise ValueError("unknown setting %s" % ", ".join("shaping.%s" % k for k in unknown))
    params = dict(DEFAULTS)
    for key, (lo, hi) in LIMITS.items():
        if key not in spec:
            continue
        value = spec[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("shaping.%s must be a number, not %s" % (key, type(value).__name__))
        value = float(value)
        if not (lo <= value <= hi):     # NaN fails both comparisons
            raise ValueError("shaping.%s must be within [%g, %g], not %r" % (key, lo, hi, value))
        params[key] = value
    return params


def band_plan(per_octave: float) -> Tuple[np.ndarray, np.ndarray]:
    """``(starts, 1 / counts)``: bins 1..512 in bands ``per_octave`` wide on a log-frequency
    axis (at least one bin each; DC left out), for ``np.add.reduceat`` over a 513-bin frame."""
    n = 512
    edges = np.unique(np.round(2.0 ** np.arange(0, np.log2(n) + 1e-9, 1.0 / per_octave)).astype(int))
    starts = edges[edges < n].astype(np.intp)
    counts = np.diff(np.append(starts, n + 1))
    return starts, 1.0 / counts


class Switching:
    """Per-song state of the switching stage (see the module docstring).

    :param params: from :func:`check`.
    :param unit_mean, unit_std: the units' training statistics ``(channels,)``.
    :param loud_mean, loud_std: the training statistics of the loudness [log10 FS**2].
    """

    def __init__(self, params: Mapping[str, float], unit_mean, unit_std,
                 loud_mean: float, loud_std: float) -> None:
        p = dict(params)
        self.alpha, self.common = float(p["alpha"]), float(p["common"])
        self.threshold, self.hysteresis = float(p["threshold"]), float(p["hysteresis"])
        self.flux, self.wait_s, self.min_on_s = float(p["flux"]), float(p["wait_s"]), float(p["min_on_s"])
        self.push = float(p["push"])
        self.hold_level = float(p["hold_level"])
        self._peaks = []                  # (time left [s], level) of the last hold_level seconds
        self._bands = band_plan(float(p["flux_bands"]))
        self._mean = np.asarray(unit_mean, np.float64)
        self._scale = 1.0 / np.asarray(unit_std, np.float64)
        self._loud = (float(loud_mean), 1.0 / float(loud_std))
        n = len(self._mean)
        self._x: Optional[np.ndarray] = None   # previous band log powers
        self._on = np.zeros(n, bool)
        self._on_for = np.zeros(n)        # [s] ON before this chunk (0 when OFF)
        self._wait = np.zeros(n)          # [s] above the ON line while OFF, this chunk included

    def level(self, z: np.ndarray, loudness: float) -> np.ndarray:
        """The lights' levels ``v`` ``(channels,)`` [training std units] for units ``z``."""
        u = (np.asarray(z, np.float64) - self._mean) * self._scale
        if self.common:
            u -= self.common * u.mean()
        return u + self.alpha * (loudness - self._loud[0]) * self._loud[1]

    def onset(self, x: np.ndarray) -> bool:
        """Whether the feature frame ``x`` ``(513,)`` rose, averaged over log-spaced bands,
        by more than ``flux`` [log10 power] since the previous chunk."""
        starts, inv = self._bands
        b = np.add.reduceat(np.asarray(x, np.float64), starts) * inv
        prev, self._x = self._x, b
        if prev is None:
            return False
        d = b - prev
        return float(np.maximum(d, 0.0, out=d).mean()) > self.flux

    def __call__(self, z: np.ndarray, x: np.ndarray, loudness: float, seconds: float) -> np.ndarray:
        """One chunk: units ``z`` ``(channels,)``, its feature frame ``x`` ``(513,)`` [log10
        power], loudness [log10 FS**2], chunk length ``seconds`` [s] -> float32 levels."""
        v = self.level(z, loudness)
        hit = self.onset(x)
        on = self._on
        up = v > self.threshold + self.hysteresis
        down = v < self.threshold - self.hysteresis
        self._wait = np.where(~on & up, self._wait + seconds, 0.0)
        start = ~on & up & (hit | (self._wait >= self.wait_s - 1e-9))
        stop = on & down & (self._on_for >= self.min_on_s - 1e-9)
        on = (on | start) & ~stop
        self._on = on
        self._on_for = np.where(on, np.where(start, 0.0, self._on_for) + seconds, 0.0)
        if self.hold_level:
            # the level shown is its own maximum over the last hold_level seconds: whatever
            # line LightShowPi draws, a crossing stays above it that long
            self._peaks = [(t - seconds, p) for t, p in self._peaks if t - seconds > 1e-9]
            self._peaks.append((self.hold_level, v))
            v = np.max([p for _t, p in self._peaks], axis=0)
        shown = v + np.where(on, 0.5 * self.push, -0.5 * self.push)
        # a soft limit, not a clip: a light far outside its training range still moves, so
        # LightShowPi's per-song statistics can switch it (a clipped, constant level would
        # have a std of 0 and stay dark)
        shown = CLIP * np.tanh(shown * (1.0 / CLIP))
        return (HOST_MEAN + HOST_STD * shown).astype(np.float32)


__all__ = ("KIND", "DEFAULTS", "LIMITS", "CLIP", "check", "band_plan", "Switching")
