"""Choosing among training runs by the show they make on synthetic tuning songs.

The same data trained from different random seeds gives autoencoders whose
shows differ a lot (on held-out songs, section accuracy 0.70-0.97 and melody
register 0.72-0.90 across seeds of one preset). ``train fit`` trains a few
candidates and keeps the one whose show comes closest to the goals of the
show-quality report, judged on songs made for it here: synthetic section songs
and register melodies with their own seeds (:data:`TUNING_SEEDS`), never the
seeds the report's final check uses, and never a real song (those are for
training and for the held-out evaluation).

:func:`shortfall` is the judge: for each viewer metric the margin to its goal
relative to LightShowPi's buckets on the same songs (rhythm >= buckets',
flashes <= half theirs, mean abs r <= 0.25, loudness -> light >= 0.7 x
theirs, dark <= max(10 %, theirs), consistency >= 0.9 x theirs, sections >=
theirs, register >= 0.95 x theirs), each divided by a scale of what counts
as a clear difference, at chunk 2048 and 4096; the shortfall is the sum of
the negative margins (0 = every goal met). Ties are broken by the summed
margins.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import numpy as np

#: synthetic section songs and register melodies used only to choose among runs
TUNING_SEEDS: Dict[str, Tuple[int, ...]] = {"sections": (100, 101, 102, 103), "melody": (100, 101)}
CHUNK_SIZES = (2048, 4096)
#: (metric, how the goal is written, scale of a clear difference)
GOALS: Tuple[Tuple[str, str, float], ...] = (
    ("onset_f_minus_chance", ">= buckets", 0.05), ("short_on_fraction", "<= 0.5 buckets", 0.05),
    ("mean_abs_r", "<= 0.25", 0.05), ("loudness_rho", ">= 0.7 buckets", 0.1),
    ("dark", "<= max(0.1, buckets)", 0.05), ("consistency", ">= 0.9 buckets", 0.05),
    ("section_accuracy", ">= buckets", 0.05), ("register", ">= 0.95 buckets", 0.05))


def margins(ours: Dict[str, float], buckets: Dict[str, float]) -> Dict[str, float]:
    """Each goal's margin in units of its scale (positive = met), for means over songs."""
    out = {}
    for key, goal, scale in GOALS:
        a, b = ours.get(key), buckets.get(key)
        if a is None or b is None or not (np.isfinite(a) and np.isfinite(b)):
            continue
        if goal == ">= buckets":
            m = a - b
        elif goal == "<= 0.5 buckets":
            m = 0.5 * b - a
        elif goal == "<= 0.25":
            m = 0.25 - a
        elif goal == ">= 0.7 buckets":
            m = a - 0.7 * b
        elif goal == "<= max(0.1, buckets)":
            m = max(0.1, b) - a
        elif goal == ">= 0.9 buckets":
            m = a - 0.9 * b
        else:                                   # ">= 0.95 buckets"
            m = a - 0.95 * b
        out[key] = m / scale
    return out


def shortfall(margin: Dict[str, float]) -> Tuple[float, float]:
    """``(sum of negative margins, sum of all margins)``: sort by it, larger is better."""
    values = list(margin.values())
    return float(sum(min(0.0, m) for m in values)), float(sum(values))


def mean_rows(rows: Sequence[Dict[str, object]]) -> Dict[str, float]:
    """Means over songs of the goals' metrics (None / NaN left out)."""
    out = {}
    for key, _goal, _scale in GOALS:
        vals = [float(r[key]) for r in rows if r.get(key) is not None and np.isfinite(r[key])]
        if vals:
            out[key] = float(np.mean(vals))
    return out


@dataclass
class Tuning:
    """The tuning songs and the buckets' scores on them, made once per ``train fit``."""

    songs: List[object]
    buckets: Dict[int, Dict[str, float]]

    @classmethod
    def make(cls, channels: int = 8) -> "Tuning":
        """The tuning songs, and the buckets' scores on them with ``channels`` lights (the
        model's: LightShowPi makes one bucket per light)."""
        from .show import lightshow, methods, preview
        from .show.synth import make_song
        songs = []
        for seed in TUNING_SEEDS["sections"]:
            s = make_song(seed)
            songs.append(preview.Song(s.name, s.pcm, s.rate, s.onsets, "exact", s.second_labels()))
        songs += [preview.melody_song(seed) for seed in TUNING_SEEDS["melody"]]
        buckets = {}
        for chunk in CHUNK_SIZES:
            settings = methods.ShowSettings(chunk_size=chunk)
            rows = [preview.score(s, preview.compute(s, settings, None, None, ["buckets"], channels),
                                  lightshow.chunk_seconds(chunk, s.rate))["buckets"] for s in songs]
            buckets[chunk] = mean_rows(rows)
        return cls(songs, buckets)

    def judge(self, model) -> Tuple[Tuple[float, float], Dict[str, Dict[str, float]]]:
        """``(shortfall, margins per chunk size)`` of a model's show on the tuning songs."""
        from .show import lightshow, methods, preview
        total: Dict[str, float] = {}
        per_chunk = {}
        for chunk in CHUNK_SIZES:
            settings = methods.ShowSettings(chunk_size=chunk)
            rows = [preview.score(s, preview.compute(s, settings, model, None, ["encoder"]),
                                  lightshow.chunk_seconds(chunk, s.rate))["encoder"] for s in self.songs]
            m = margins(mean_rows(rows), self.buckets[chunk])
            per_chunk[str(chunk)] = {k: round(v, 3) for k, v in m.items()}
            for k, v in m.items():
                total["%s@%d" % (k, chunk)] = v
        return shortfall(total), per_chunk


__all__ = ("TUNING_SEEDS", "CHUNK_SIZES", "GOALS", "margins", "shortfall", "mean_rows", "Tuning")
