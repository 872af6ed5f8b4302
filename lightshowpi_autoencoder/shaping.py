"""Level shaping: turn encoder channels into calm, rhythmic lights (the "onset gate").

LightShowPi switches a light when its level is above the channel's mean plus
a small part of its std. Fed a continuous signal that hovers around that line,
the lights flicker (ON for one 46 ms chunk) and, when every channel follows
loudness, they all flicker together. The onset gate decides *when* and *which*
lights start and hands LightShowPi two clearly separated levels:

* **When** -- a causal onset detector on the model's own input: the 513-bin
  log10 power frame is averaged into bands ``bands_per_octave`` wide (at least
  one bin each; 0 = every bin), and the band flux ``s = mean_b max(x_t[b] -
  x_{t-1}[b], 0)`` [log10 power] fires when it exceeds both ``min_flux`` and
  its running mean plus ``threshold_sd`` running standard deviations
  (exponential window of ``window_s`` seconds), at most once per ``gap_s``
  seconds. Bands keep the noise of single bins (a pad, a cymbal) from
  reading as onsets; ``min_flux`` (0.2 = a 2 dB rise averaged over the bands)
  keeps a steady drone dark instead of letting the adaptive threshold sink to
  its noise.
* **Which** -- at an onset, the ``picks`` channels whose standardised encoder
  activation rose most since the previous chunk light up, plus a bonus of
  ``fairness_per_s`` per second a channel has been dark, so every channel
  plays a part in every song (a learned unit that rarely wins would be a
  dead light).
* **How long** -- a lit channel stays ON for at least ``hold_s`` seconds
  (rounded up to whole chunks; 4 chunks of 2048 at 44.1 kHz, 2 of 4096), so
  no flash is shorter than 0.1 s (the show-quality report's flicker line) and
  about 15 % of the lights are on at a time instead of 11 % at 0.12 s.

Levels: ON = 12 + 2 * 1.5 = 15, OFF = 12 - 0.5 * 1.5 = 11.25, both plus
``slow_depth`` (0.15) times the activation averaged over ``SLOW_S`` (1 s), so no
channel is ever exactly constant (LightShowPi divides by a channel's std). On
LightShowPi's first-play scale (mean 12, std 1.5) and on its cached per-song
statistics alike, ON is above the switching line and OFF below it whenever a
channel is ON between ~1 % and ~90 % of the time (it is ~15 %).

All durations are in seconds, so the show keeps its timing at chunk 2048
(original LightShowPi) and 4096 (Neo), 44.1 or 48 kHz; chunks of ``long_chunk_s``
or more use the few settings in ``long`` (:data:`LONG_DEFAULTS`). State lives in one
:class:`OnsetGate` per song (LightShowPi makes one FFT object per song).
"""
from __future__ import annotations

import math
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np

from . import validate
from .features import N_BINS
from .levels import HOST_MEAN, HOST_STD

KIND = "onset-gate"
#: defaults of the shipped model (chosen on held-out songs: README, "Show quality")
DEFAULTS: Dict[str, float] = {"picks": 2, "hold_s": 0.16, "gap_s": 0.08, "window_s": 2.0,
                              "threshold_sd": 0.5, "min_flux": 0.2, "bands_per_octave": 6.0,
                              "fairness_per_s": 4.0, "slow_depth": 0.15, "long_chunk_s": 0.064}
#: what changes for chunks of at least ``long_chunk_s`` seconds (Neo's 4096 frames, 93 ms):
#: fewer, blurrier rows, in which a run of fast hits reads as steady flux; the adaptive
#: threshold then hides them, and dark channels would win every onset on fairness alone
LONG_DEFAULTS: Dict[str, float] = {"threshold_sd": 0.0, "fairness_per_s": 1.0}
#: fixed for the whole song (the band plan is built once)
_NOT_LONG = {"long_chunk_s", "bands_per_octave"}
ON_LEVEL = HOST_MEAN + 2.0 * HOST_STD
OFF_LEVEL = HOST_MEAN - 0.5 * HOST_STD
#: the OFF level carries the activations averaged over SLOW_S seconds, ``slow_depth`` deep
#: (tanh units are in (-1, 1), so at most +-0.15 level): far below the ON step, so it does
#: not switch a light that is ON at least ~3 % of the time, a channel the gate never lights
#: in a song is not constant (LightShowPi divides by its std) and follows the music's slow
#: changes calmly instead of amplifying noise, and pwm lights dim with the section
SLOW_S = 1.0
SLOW_EVERY = 4


#: documented limits of each parameter, checked at load: ``(low, high, low excluded)``.
#: Past them a value is no longer a show setting but a hazard (1e7 bands per octave
#: allocate gigabytes; a 1e308 s hold overflows the chunk count).
LIMITS: Dict[str, Tuple[float, float, bool]] = {
    "hold_s": (0.0, 10.0, True), "gap_s": (0.0, 10.0, False), "window_s": (0.0, 60.0, True),
    "threshold_sd": (0.0, 10.0, False), "min_flux": (0.0, 10.0, False),
    "bands_per_octave": (0.0, 48.0, False), "fairness_per_s": (0.0, 100.0, False),
    "slow_depth": (0.0, 1.0, False), "long_chunk_s": (0.0, 10.0, False)}


def check(spec: Any, channels: int) -> Dict[str, float]:
    """Validate a model's ``shaping`` metadata; returns the full parameter dict.

    ``picks`` is a whole number in 1..``channels``; the others are finite numbers
    within :data:`LIMITS`.

    :raises ValueError: (:class:`validate.Invalid`) naming the field and its limits
        (the caller names the file).
    """
    if not isinstance(spec, Mapping) or spec.get("kind") != KIND:
        raise validate.Invalid("shaping kind must be %r" % KIND)
    extra = spec.get("long", {})
    if not isinstance(extra, Mapping) or not set(extra) <= set(DEFAULTS) - _NOT_LONG:
        raise validate.Invalid("shaping long must map parameter names (not %s) to values"
                               % ", ".join(sorted(_NOT_LONG)))
    params: Dict[str, Any] = dict(DEFAULTS)
    params.update(_checked(spec, "shaping.", channels))
    long = dict(LONG_DEFAULTS)
    long.update(_checked(extra, "shaping.long.", channels))
    params["long"] = long
    return params


def _checked(values: Mapping[str, Any], prefix: str, channels: int) -> Dict[str, float]:
    out: Dict[str, float] = {}
    for key in DEFAULTS:
        if key not in values:
            continue
        if key == "picks":
            out[key] = validate.whole(values[key], prefix + key, 1, channels)
        else:
            lo, hi, lo_open = LIMITS[key]
            out[key] = validate.real(values[key], prefix + key, lo, hi, lo_open)
    return out


def band_plan(per_octave: float) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """``(starts, 1 / counts)``: bins 1..512 grouped into bands ``per_octave`` wide on a
    log-frequency axis (at least one bin each; bin 0, DC, left out), for
    ``np.add.reduceat``; ``None`` for per-bin flux (``per_octave`` 0)."""
    if per_octave <= 0:
        return None
    n = N_BINS - 1
    edges = np.unique(np.round(2.0 ** np.arange(0, np.log2(n) + 1e-9, 1.0 / per_octave)).astype(int))
    starts = edges[edges < n].astype(np.intp)
    counts = np.diff(np.append(starts, N_BINS))
    return starts, (1.0 / counts).astype(np.float32)


class OnsetGate:
    """Per-song state of the onset gate.

    :param params: from :func:`check`.
    :param std: the encoder's training activation std ``(channels,)``: rises are
        compared in these units, so a unit with a small range is not at a disadvantage.
    """

    def __init__(self, params: Mapping[str, Any], std: np.ndarray) -> None:
        self._short = dict(params)
        self._long = dict(params, **params.get("long", {}))
        self._use(self._short)
        self._bands = band_plan(float(params["bands_per_octave"]))
        self._scale = (np.float32(1.0) / np.asarray(std, dtype=np.float32)).astype(np.float32)
        n = self._scale.shape[0]
        self._x = None                        # previous band (or bin) log powers
        self._z = None                        # previous activations (channels,)
        self._slow = np.zeros(n, np.float32)  # activations averaged over ~SLOW_S
        self._m1 = self._m2 = 0.0             # running mean / mean square of the flux
        self._now = 0.0                       # song time [s] at the start of this chunk
        self._last_onset = -math.inf          # [s]
        self._off_until = np.zeros(n)         # [s] a channel is ON while now < off_until
        self._lit_at = np.zeros(n)            # [s] when each channel last lit
        self._next_off = math.inf             # [s] the next time a lit channel goes dark
        self._base = np.full(n, OFF_LEVEL, np.float32)
        self._out = self._base.copy()         # levels until the next change
        self._chunks = 0                      # chunks since the slow average moved
        self._seconds = -1.0                  # chunk length [s] the decays below are for
        self._a = self._slow_a = 0.0

    def _use(self, params: Mapping[str, Any]) -> None:
        self.picks = int(params["picks"])
        self.hold_s = float(params["hold_s"])
        self.gap_s = float(params["gap_s"])
        self.window_s = float(params["window_s"])
        self.threshold_sd = float(params["threshold_sd"])
        self.fairness = float(params["fairness_per_s"])
        self.min_flux = float(params["min_flux"])
        self.slow_depth = float(params["slow_depth"])

    def __call__(self, x: np.ndarray, z: np.ndarray, seconds: float) -> np.ndarray:
        """One chunk: input frame ``x`` ``(513,)`` [log10 power], activations ``z``
        ``(channels,)``, chunk length ``seconds`` [s] -> float32 levels ``(channels,)``."""
        if self._bands is not None:
            starts, inv_counts = self._bands
            x = np.add.reduceat(x, starts) * inv_counts   # mean log power per band
        prev = self._x
        self._x = x
        if prev is None:
            flux = 0.0
        else:
            d = x - prev
            flux = float(np.maximum(d, 0.0, out=d).sum()) / d.shape[0]
        if seconds != self._seconds:
            self._seconds = seconds
            self._use(self._long if seconds >= self._short["long_chunk_s"] else self._short)
            self._a = math.exp(-seconds / self.window_s)
            self._slow_a = math.exp(-SLOW_EVERY * seconds / SLOW_S)
        z_prev = self._z
        self._z = z
        now = self._now
        m1, m2 = self._m1, self._m2
        changed = now >= self._next_off - 1e-9
        if (flux > max(m1 + self.threshold_sd * math.sqrt(max(m2 - m1 * m1, 0.0)), self.min_flux)
                and now - self._last_onset >= self.gap_s - 1e-9):
            self._last_onset = now
            # rise of the standardised activations (the training mean cancels out)
            rise = (z - z_prev) * self._scale if z_prev is not None else np.zeros_like(self._scale)
            score = rise + self.fairness * (now - self._lit_at)
            pick = np.argpartition(-score, self.picks - 1)[: self.picks]
            # whole chunks: a hold of 0.16 s at 46.4 ms chunks is 4 chunks (186 ms)
            self._off_until[pick] = now + math.ceil(self.hold_s / seconds - 1e-9) * seconds
            self._lit_at[pick] = now
            changed = True
        if changed:
            on = self._off_until > now + 1e-9
            self._base = np.where(on, np.float32(ON_LEVEL), np.float32(OFF_LEVEL))
            self._next_off = float(self._off_until[on].min()) if on.any() else math.inf
        a = self._a
        self._m1 = a * m1 + (1.0 - a) * flux
        self._m2 = a * m2 + (1.0 - a) * flux * flux
        self._now = now + seconds
        self._chunks += 1
        if self._chunks >= SLOW_EVERY:
            # the slow average moves little per chunk: updating it every few chunks keeps
            # the per-chunk cost down (measured in python -m train bench)
            self._chunks = 0
            self._slow += (1.0 - self._slow_a) * (z - self._slow)
            changed = True
        if changed:
            self._out = self._base + self.slow_depth * self._slow
        return self._out.copy()


__all__ = ("KIND", "DEFAULTS", "LONG_DEFAULTS", "LIMITS", "ON_LEVEL", "OFF_LEVEL", "SLOW_S", "check",
           "band_plan", "OnsetGate")
