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
  the light lands on the beat), or the light's own level leapt by more than
  ``jump`` (std units) since the previous chunk (its own sound's onset, which
  a quiet instrument under a loud one does not make in the whole spectrum), or
  the light has been waiting ``wait_s`` seconds (a sound that fades in still
  shows).
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

After these rules a repeat memory (:mod:`repeat`, settings ``repeat_*``; off when
``repeat_match`` is 0) shows a passage that sounds like one heard at least
``repeat_after_s`` seconds before with the lights it had then: the same music
gets the same lights when it comes back.

All durations are in seconds, so the show keeps its timing at chunk 2048
(original LightShowPi) and 4096 (Neo), 44.1 or 48 kHz. Everything is causal:
audio-in and stream-in get the same show as a file (LightShowPi keeps running
statistics there). State lives in one :class:`Switching` per song
(LightShowPi makes one FFT object per song).
"""
from __future__ import annotations

from math import tanh
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .feature_stream import BandMeans
from .levels import HOST_MEAN, HOST_STD
from .repeat import RepeatMemory

KIND = "switching"
#: the shipped model's settings (chosen on held-out songs: docs/show-quality.md)
DEFAULTS: Dict[str, float] = {"alpha": 0.7, "common": 1.0, "threshold": 0.125,
                              "hysteresis": 0.2, "flux": 0.15, "flux_bands": 6.0,
                              "wait_s": 0.3, "min_on_s": 0.12, "push": 4.0,
                              "hold_level": 0.12, "jump": 1.5, "repeat_match": 0.35,
                              "repeat_keep": 0.5, "repeat_after_s": 4.0,
                              "repeat_window_s": 0.19, "repeat_every_s": 0.37,
                              "repeat_span_s": 90.0}
#: settings added after models first shipped with this stage, as a model without them reads
#: them: off, so a model file keeps the show it was made (and its .sync caches written) with
UNSET: Dict[str, float] = {"jump": 0.0, "repeat_match": 0.0}
#: documented limits of each setting (inclusive): a model outside them is refused
LIMITS: Dict[str, Tuple[float, float]] = {
    "alpha": (0.0, 10.0), "common": (0.0, 1.0), "threshold": (-3.0, 3.0),
    "hysteresis": (0.0, 3.0), "flux": (0.0, 10.0), "flux_bands": (1.0, 48.0),
    "wait_s": (0.0, 10.0), "min_on_s": (0.0, 10.0), "push": (0.0, 8.0),
    "hold_level": (0.0, 1.0), "jump": (0.0, 20.0), "repeat_match": (0.0, 5.0),
    "repeat_keep": (0.0, 5.0), "repeat_after_s": (0.5, 60.0), "repeat_window_s": (0.0, 2.0),
    "repeat_every_s": (0.0, 2.0), "repeat_span_s": (1.0, 600.0)}
#: levels stay within 12 +- CLIP * 1.5 (a soft limit): positive, as LightShowPi's cache keeps
#: positive levels only
CLIP = 5.0
_INV_CLIP = 1.0 / CLIP


def check(spec: Any, channels: int) -> Dict[str, float]:
    """Validate a model's ``shaping`` metadata; returns the full parameter dict (a setting
    it does not name: :data:`DEFAULTS`, or off for those in :data:`UNSET`).

    :raises ValueError: with what is wrong (the caller names the file).
    """
    if not isinstance(spec, Mapping) or spec.get("kind") != KIND:
        raise ValueError("shaping kind must be %r" % KIND)
    unknown = sorted(set(spec) - set(LIMITS) - {"kind"})
    if unknown:
        raise ValueError("unknown setting %s" % ", ".join("shaping.%s" % k for k in unknown))
    params = dict(DEFAULTS, **UNSET)
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


class Switching:
    """Per-song state of the switching stage (see the module docstring).

    :param params: from :func:`check`.
    :param unit_mean, unit_std: the units' training statistics ``(channels,)``.
    :param loud_mean, loud_std: the training statistics of the loudness [log10 FS**2].

    The per-chunk work is the module docstring's formulas in float64, in the order written
    there (the mean of the units summed in channel order, ``tanh`` from libm), so the
    levels are the same bit for bit as computing them with numpy arrays afresh
    (tests/test_fast_path.py keeps that reference). For LightShowPi's 8 lights it runs
    on Python floats: each numpy call on an 8-value array costs ~1 us of dispatch,
    whatever its size, more than the arithmetic of all 8 lights in Python. numpy is
    left for the 513-bin frame (its band means) and the float32 row at the end.
    """

    def __init__(self, params: Mapping[str, float], unit_mean, unit_std,
                 loud_mean: float, loud_std: float) -> None:
        p = dict(params)
        self.alpha, self.common = float(p["alpha"]), float(p["common"])
        self.threshold, self.hysteresis = float(p["threshold"]), float(p["hysteresis"])
        self.flux, self.wait_s, self.min_on_s = float(p["flux"]), float(p["wait_s"]), float(p["min_on_s"])
        self.push, self.hold_level = float(p["push"]), float(p["hold_level"])
        self.jump = float(p["jump"])
        self.bands = BandMeans(float(p["flux_bands"]))
        self._mean = np.asarray(unit_mean, np.float64)
        self._scale = 1.0 / np.asarray(unit_std, np.float64)
        self._mean_list, self._scale_list = self._mean.tolist(), self._scale.tolist()
        self._loud = (float(loud_mean), 1.0 / float(loud_std))
        n = self._n = len(self._mean)
        # the decision lines and the push, as the formulas compute them
        self._up_line = self.threshold + self.hysteresis
        self._down_line = self.threshold - self.hysteresis
        self._wait_line = self.wait_s - 1e-9
        self._hold_line = self.min_on_s - 1e-9
        self._half = 0.5 * self.push
        self._x: Optional[np.ndarray] = None   # this chunk's band log powers
        self._prev: Optional[np.ndarray] = None  # the previous chunk's
        self._frame: Optional[np.ndarray] = None  # this chunk's feature frame
        self._on = [False] * n
        self._on_for = [0.0] * n          # [s] ON before this chunk (0 when OFF)
        self._wait = [0.0] * n            # [s] above the ON line while OFF, this chunk included
        # the rows of the last hold_level seconds, oldest first: time left [s], levels, has NaN
        self._peak_ages: List[float] = []
        self._peak_rows: List[Sequence[float]] = []
        self._peak_bad: List[bool] = []
        self._last: Optional[Sequence[float]] = None              # the previous chunk's levels
        self.memory: Optional[RepeatMemory] = None
        if p["repeat_match"] > 0.0:
            self.memory = RepeatMemory(p["repeat_match"], p["repeat_keep"], p["repeat_after_s"],
                                       p["repeat_window_s"], p["repeat_every_s"],
                                       p["repeat_span_s"], len(self.bands), n)
        self._d = np.empty(len(self.bands))   # a work buffer
        self._exact: Optional[Callable[[np.ndarray], float]] = None
        self._margin = -1.0

    def loudness_check(self, exact: Callable[[np.ndarray], float], error: float) -> None:
        """Take the loudness passed to :meth:`__call__` as an estimate within ``error``
        [log10 FS**2] of ``exact(x)``, the loudness as defined: a chunk whose level lies
        that close to the ON or the OFF line is decided on ``exact(x)`` instead, so the
        decisions are those of the definition and the levels within ``error`` of its.
        """
        self._exact = exact
        # the levels' error, plus float64 rounding in computing them [std units]
        self._margin = self.alpha * float(error) * self._loud[1] + 1e-9

    def levels(self, z: np.ndarray, loudness: float) -> List[float]:
        """:meth:`level` as a list of Python floats (the same float64 numbers)."""
        s = self.alpha * (loudness - self._loud[0]) * self._loud[1]
        # z (float32) widened to float64 exactly, as numpy's subtraction would
        u = [(zc - mc) * sc for zc, mc, sc in zip(z.tolist(), self._mean_list, self._scale_list)]
        if self.common:
            # the mean summed light by light, in channel order
            k = self.common * (sum(u) / self._n)
            return [(uc - k) + s for uc in u]
        return [uc + s for uc in u]

    def level(self, z: np.ndarray, loudness: float) -> np.ndarray:
        """The lights' levels ``v`` ``(channels,)`` [training std units] for units ``z``."""
        return np.array(self.levels(z, loudness))

    def onset(self, x: np.ndarray) -> bool:
        """Whether the feature frame ``x`` ``(513,)`` rose, averaged over log-spaced bands,
        by more than ``flux`` [log10 power] since the previous chunk."""
        return self._rose(self._bands_of(x))

    def _bands_of(self, x: np.ndarray) -> Optional[np.ndarray]:
        """Remember the band log powers of ``x``; returns the previous chunk's (or None)."""
        prev, self._x = self._x, self.bands(x)
        return prev

    def _rose(self, prev: Optional[np.ndarray]) -> bool:
        """The onset test of the bands just remembered against ``prev``."""
        if prev is None:
            return False
        d = np.subtract(self._x, prev, out=self._d)
        np.maximum(d, 0.0, out=d)
        # .mean() without its Python wrapper: the same sum divided by the count
        return float(np.add.reduce(d) / len(d)) > self.flux

    def near_line(self, v: Sequence[float], margin: float) -> bool:
        """Whether a level of ``v`` lies within ``margin`` of the ON or the OFF line."""
        up, down = self._up_line, self._down_line
        for vc in v:
            if -margin < vc - up < margin or -margin < vc - down < margin:
                return True
        return False

    def step(self, v: Sequence[float], hit: Union[bool, Callable[[], bool]],
             seconds: float) -> np.ndarray:
        """The ON/OFF decisions for levels ``v`` (:meth:`levels`) and the onset ``hit``
        (:meth:`onset`, or a function that tells it) of a chunk ``seconds`` long [s] ->
        the float32 levels LightShowPi gets.

        A function is asked at most once, and only when some light could start on an
        onset: on most chunks none can, and the test's three numpy calls are saved."""
        on, wait, on_for = self._on, self._wait, self._on_for
        up, down, wait_line, hold_line = (self._up_line, self._down_line, self._wait_line,
                                          self._hold_line)
        half = self._half
        jump, last = self.jump, self._last
        if not jump or last is None:
            last = None
        self._last = v
        for c, vc in enumerate(v):
            if on[c]:
                wait[c] = 0.0
                if vc < down and on_for[c] >= hold_line:       # stop
                    on[c] = False
                    on_for[c] = 0.0
                else:
                    on_for[c] += seconds
            elif vc > up:
                wait[c] = w = wait[c] + seconds
                # the light's own onset: its level leapt since the last chunk
                own = last is not None and vc - last[c] > jump
                if not own and hit is not True and hit is not False:
                    hit = bool(hit())
                if own or hit or w >= wait_line:               # start
                    on[c] = True
                    on_for[c] = 0.0 + seconds
            else:
                wait[c] = 0.0
        if self.hold_level:
            # the level shown is its own maximum over the last hold_level seconds: whatever
            # line LightShowPi draws, a crossing stays above it that long. Every remembered
            # row ages by the same seconds, so the ones that expire are the oldest; a few
            # rows at most, so their maximum is taken on Python floats, unless a NaN is
            # among them (their sum is then NaN): np.max keeps it, as the reference does
            ages = [t - seconds for t in self._peak_ages]
            rows, bad = self._peak_rows, self._peak_bad
            while ages and not ages[0] > 1e-9:
                del ages[0], rows[0], bad[0]
            total = sum(v)
            ages.append(self.hold_level)
            rows.append(v)
            bad.append(total != total)
            self._peak_ages = ages
            if len(rows) > 1:
                v = np.max(rows, axis=0).tolist() if True in bad else list(map(max, *rows))
        # a soft limit, not a clip: a light far outside its training range still moves, so
        # LightShowPi's per-song statistics can switch it (a clipped, constant level would
        # have a std of 0 and stay dark). HOST_MEAN + HOST_STD * (CLIP * tanh((v + push) / CLIP)),
        # push = +-push/2 as the light is ON or OFF, on Python floats (math.tanh: libm's),
        # rounded to float32 once at the end
        return np.array([HOST_MEAN + HOST_STD * (CLIP * tanh((vc + (half if o else -half))
                                                             * _INV_CLIP))
                         for vc, o in zip(v, on)], np.float32)

    def listen(self, x: np.ndarray) -> np.ndarray:
        """Take this chunk's feature frame ``x`` ``(513,)`` [log10 power] (kept for
        :meth:`decide`, so not to be changed before it) and return its band log powers
        (:func:`features.band_means` of ``flux_bands``), float64 ``(n_bands,)``, valid
        for this chunk: what a band-input encoder reads too."""
        self._frame = x
        self._prev = self._bands_of(x)
        return self._x

    def decide(self, z: np.ndarray, loudness: float, seconds: float) -> np.ndarray:
        """The chunk :meth:`listen` took: units ``z`` ``(channels,)``, loudness [log10
        FS**2], chunk length ``seconds`` [s] -> float32 levels."""
        v = self.levels(z, loudness)
        if self._exact is not None and self.near_line(v, self._margin):
            v = self.levels(z, self._exact(self._frame))
        prev = self._prev
        row = self.step(v, lambda: self._rose(prev), seconds)
        if self.memory is not None:
            row = self.memory(self._x, row, seconds)
        return row

    def __call__(self, z: np.ndarray, x: np.ndarray, loudness: float, seconds: float) -> np.ndarray:
        """One chunk: units ``z`` ``(channels,)``, its feature frame ``x`` ``(513,)`` [log10
        power], loudness [log10 FS**2], chunk length ``seconds`` [s] -> float32 levels
        (:meth:`listen`, then :meth:`decide`)."""
        self.listen(x)
        return self.decide(z, loudness, seconds)


__all__ = ("KIND", "DEFAULTS", "UNSET", "LIMITS", "CLIP", "check", "Switching")
