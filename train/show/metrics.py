"""Show-quality metrics of a light show, as pure functions.

A *show* is what LightShowPi drives: a brightness array ``bright`` of shape
``(n_chunks, channels)`` in [0, 1], one row per audio chunk of
``chunk_seconds`` [s] (2048 frames at 44.1 kHz = 46.4 ms). A light is ON in
a chunk when its brightness is > 0.5 (LightShowPi's ``onoff`` pin rule; for
``pwm`` pins the same threshold is used to define ON). Row ``i`` takes effect
at ``i * chunk_seconds`` [s]: LightShowPi writes the chunk to the sound card
and sets the lights at once, so a light changes when its chunk starts to play.
Before the first chunk every light is OFF (LightShowPi turns them off at start).

Every metric is taken on what a viewer sees: the ON/OFF state of each light
(``brightness > 0.5``), never on brightness below the switching line. The
metrics (units in brackets):

1. **Rhythm** (:func:`light_onsets`, :func:`onset_scores`): the light onsets are
   the chunk start times at which any channel turns ON (OFF -> ON), all
   channels merged: a time within 50 ms of the previous kept one is dropped.
   ``F`` = ``mir_eval.onset.f_measure(music_onsets, light_onsets, window=0.05)``
   [fraction]. ``chance`` = mean F against the music onsets circularly shifted
   by ``n_shifts`` random offsets drawn uniformly from
   ``[0.5 s, duration - 0.5 s]`` (seeded). The score is ``F - chance``: about 0
   for a show unrelated to the music, up to ``1 - chance`` for a perfect one.
2. **Flicker** (:func:`flicker`): toggles per second per channel [1/s] (ON<->OFF
   changes, counting a first OFF->ON), reported as the median and the worst
   (max) channel; and the fraction of ON periods (maximal runs of ON chunks,
   all channels pooled) shorter than 0.1 s [fraction; NaN with no ON period].
3. **Channel diversity** (:func:`diversity`, :func:`duty_cycles`,
   :func:`stuck_channels`): mean absolute Pearson correlation between the
   ON/OFF traces of all channel pairs [0..1; lower = more diverse; pairs
   with a constant trace are left out, NaN if none is left]; duty cycle per
   channel = fraction of chunks ON; a channel ON in < 5 % or > 95 % of the
   chunks is *stuck*.
4. **Sections** (:func:`second_means`, :func:`section_accuracy`): the show is
   reduced to one vector per whole second, each light's share of ON time over
   the chunks starting in that second; a nearest-centroid classifier
   (Euclidean) predicts each second's section kind. Scoring is
   leave-one-instance-out: every section instance is held out whole, the
   centroids are fitted on the seconds of all other instances, and the
   accuracy is the fraction of held-out seconds predicted right, pooled
   [fraction; chance = 1 / number of kinds for balanced kinds].
5. **Loudness -> light** (:func:`loudness_light`): the song in 1 s windows, hop
   0.5 s (:mod:`train.show.listening`); per window the share of (chunk, light)
   pairs that are ON and the audio's RMS level [dB FS]; windows below
   -50 dB FS left out; Spearman rho between the two [-1..1; 0 if either side
   is constant].
6. **Dark** (:func:`dark_fraction`): of the chunks whose audio RMS is at least
   -40 dB FS, the share in which every light is OFF [fraction].
7. **Consistency** (:func:`consistency`): 0.5 s windows, hop 0.25 s, windows
   below -45 dB FS left out; each window described by its mean log-mel
   spectrum (64 bands, 30 Hz-16 kHz, z-scored per band over the song; from
   the audio, not from any method's features) and by each light's share of
   ON time. For every window its nearest neighbour in sound (Euclidean) among
   the windows at least 4 s away; ``1 - d_nn / d_rand``, d the mean absolute
   difference of the light descriptors, over the nearest-sound pairs and over
   all pairs at least 4 s apart [fraction; 0 for a constant show, 1 when the
   same sound always gets the same lights].
8. **Register** (:func:`register_accuracy`): a synthetic melody over C3-C6
   (:func:`train.show.synth.make_melody`); per note each light's share of ON time
   from the note's start, over at most 0.3 s (chunks weighted by their
   overlap with that span); a nearest-centroid classifier, 5-fold stratified
   (seeded), predicts the note's octave [fraction; chance 1/3].

Music onsets come from the song's ground truth (synthetic songs: "exact") or
from :func:`train.show.onsets.detect_onsets` ("detector") for real songs.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

WINDOW = 0.05        # [s] onset matching tolerance and light-onset merge distance
SHORT_ON = 0.1       # [s] an ON period shorter than this is a flash
STUCK_LOW, STUCK_HIGH = 0.05, 0.95
MIN_SHIFT = 0.5      # [s] smallest random offset for the chance score
ON_THRESHOLD = 0.5   # brightness above which an onoff pin is ON


# ---------------------------------------------------------------- rhythm

def light_onsets(on: np.ndarray, chunk_seconds: float, merge: float = WINDOW) -> np.ndarray:
    """Times [s] at which any channel turns ON, merged within ``merge`` [s].

    :param on: bool ``(n_chunks, channels)``.
    :returns: float64 sorted ``(n,)``; a transition is kept only if it is more
        than ``merge`` after the last kept one.
    """
    on = np.asarray(on, dtype=bool).reshape(len(on), -1)
    before = np.vstack([np.zeros((1, on.shape[1]), dtype=bool), on[:-1]])
    rows = np.nonzero((on & ~before).any(axis=1))[0]
    kept: List[float] = []
    for t in rows * float(chunk_seconds):
        if not kept or t - kept[-1] > merge + 1e-9:
            kept.append(float(t))
    return np.asarray(kept, dtype=float)


def f_measure(reference: np.ndarray, estimated: np.ndarray, window: float = WINDOW) -> float:
    """``mir_eval.onset.f_measure`` [fraction], 0 when either side is empty (no warning)."""
    reference = np.sort(np.asarray(reference, dtype=float))
    estimated = np.sort(np.asarray(estimated, dtype=float))
    if reference.size == 0 or estimated.size == 0:
        return 0.0
    import mir_eval  # imported here: the preview's optional extra
    return float(mir_eval.onset.f_measure(reference, estimated, window=window)[0])


def onset_scores(light: np.ndarray, music: np.ndarray, duration: float,
                 window: float = WINDOW, n_shifts: int = 20, seed: int = 0) -> Dict[str, float]:
    """Rhythm score of light onsets against music onsets.

    :param light: light onset times [s]; ``music``: music onset times [s].
    :param duration: song length [s], the period of the circular shifts.
    :returns: ``{"f", "chance", "f_minus_chance"}`` [fractions].
    """
    music = np.sort(np.asarray(music, dtype=float))
    f = f_measure(music, light, window)
    rng = np.random.default_rng(seed)
    lo, hi = MIN_SHIFT, max(MIN_SHIFT, duration - MIN_SHIFT)
    scores = []
    for offset in rng.uniform(lo, hi, size=n_shifts):
        shifted = np.sort((music + offset) % duration) if duration > 0 else music
        scores.append(f_measure(shifted, light, window))
    chance = float(np.mean(scores)) if scores else 0.0
    return {"f": f, "chance": chance, "f_minus_chance": f - chance}


# ---------------------------------------------------------------- flicker

def on_periods(column: np.ndarray) -> np.ndarray:
    """Lengths [chunks] of the maximal runs of True in a bool ``(n,)`` trace."""
    padded = np.concatenate([[False], np.asarray(column, dtype=bool), [False]])
    edges = np.diff(padded.astype(np.int8))
    return np.nonzero(edges == -1)[0] - np.nonzero(edges == 1)[0]


def flicker(on: np.ndarray, chunk_seconds: float, short: float = SHORT_ON) -> Dict[str, object]:
    """Flicker of an ON array ``(n_chunks, channels)``.

    :returns: ``toggles_per_s`` (list per channel) [1/s], ``toggles_median``,
        ``toggles_worst`` [1/s], ``short_on_fraction`` [fraction of ON periods
        shorter than ``short`` s, NaN if there is no ON period] and
        ``on_periods`` (their count).
    """
    on = np.asarray(on, dtype=bool).reshape(len(on), -1)
    duration = on.shape[0] * float(chunk_seconds)
    before = np.vstack([np.zeros((1, on.shape[1]), dtype=bool), on[:-1]])
    toggles = (on != before).sum(axis=0) / duration if duration > 0 else np.zeros(on.shape[1])
    runs = np.concatenate([on_periods(on[:, c]) for c in range(on.shape[1])])
    short_fraction = (float(np.mean(runs * float(chunk_seconds) < short - 1e-12))
                      if runs.size else float("nan"))
    return {"toggles_per_s": [float(t) for t in toggles],
            "toggles_median": float(np.median(toggles)) if toggles.size else 0.0,
            "toggles_worst": float(np.max(toggles)) if toggles.size else 0.0,
            "short_on_fraction": short_fraction, "on_periods": int(runs.size)}


# ---------------------------------------------------------------- diversity

def diversity(bright: np.ndarray) -> float:
    """Mean |Pearson r| over all channel pairs of brightness ``(n_chunks, channels)``.

    Pairs involving a constant channel (undefined r) are left out; NaN when
    no pair is left. 1 = every channel moves together, 0 = uncorrelated.
    """
    b = np.asarray(bright, dtype=float).reshape(len(bright), -1)
    # "constant" up to rounding: np.std of a constant float trace can be ~1e-16
    live = np.nonzero(b.std(axis=0) > 1e-9 * (1.0 + np.abs(b).max(axis=0)))[0]
    if live.size < 2:
        return float("nan")
    r = np.corrcoef(b[:, live], rowvar=False)
    upper = np.triu_indices(live.size, k=1)
    return float(np.mean(np.abs(r[upper])))


def duty_cycles(on: np.ndarray) -> np.ndarray:
    """Fraction of chunks each channel is ON, float ``(channels,)``."""
    on = np.asarray(on, dtype=bool).reshape(len(on), -1)
    return on.mean(axis=0) if on.shape[0] else np.zeros(on.shape[1])


def stuck_channels(duty: np.ndarray, low: float = STUCK_LOW, high: float = STUCK_HIGH) -> List[int]:
    """1-based channels ON less than ``low`` or more than ``high`` of the time."""
    return [int(i) + 1 for i, d in enumerate(np.asarray(duty)) if d < low or d > high]


# ---------------------------------------------------------------- sections

def second_means(traces: np.ndarray, chunk_seconds: float, n_seconds: int) -> np.ndarray:
    """Mean of each trace over the chunks starting in each whole second.

    :param traces: ``(n_chunks, channels)``; row i starts at ``i*chunk_seconds``.
    :returns: float ``(n_seconds, channels)``; a second with no chunk reads NaN.
    """
    traces = np.asarray(traces, dtype=float).reshape(len(traces), -1)
    second = np.floor(np.arange(traces.shape[0]) * float(chunk_seconds) + 1e-9).astype(int)
    out = np.full((n_seconds, traces.shape[1]), np.nan)
    for s in range(n_seconds):
        rows = traces[second == s]
        if rows.size:
            out[s] = rows.mean(axis=0)
    return out


def section_accuracy(vectors: np.ndarray, labels: Sequence[int], instances: Sequence[int]) -> float:
    """Leave-one-instance-out nearest-centroid accuracy [fraction].

    :param vectors: ``(n, d)`` one vector per second (NaN rows are skipped).
    :param labels: section kind of each second; ``instances``: section
        instance of each second. Each instance is held out whole and
        predicted from the centroids of the other instances' seconds;
        a kind with no other instance cannot be predicted (counts as wrong).
    """
    x = np.asarray(vectors, dtype=float)
    y = np.asarray(labels)
    g = np.asarray(instances)
    ok = ~np.isnan(x).any(axis=1)
    x, y, g = x[ok], y[ok], g[ok]
    right = total = 0
    for inst in np.unique(g):
        test, train = g == inst, g != inst
        kinds = np.unique(y[train])
        if kinds.size == 0:
            continue
        centroids = np.array([x[train & (y == k)].mean(axis=0) for k in kinds])
        dist = ((x[test][:, None, :] - centroids[None]) ** 2).sum(axis=2)
        right += int(np.sum(kinds[np.argmin(dist, axis=1)] == y[test]))
        total += int(test.sum())
    return right / total if total else float("nan")


# ---------------------------------------------------------------- the lights against the sound

MIN_APART = 4.0      # [s] consistency: pairs of windows at least this far apart
REGISTER_SPAN = 0.3  # [s] register: a note's lights over at most this long from its start
REGISTER_FOLDS = 5


def _window_shares(on: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """Each light's share of ON chunks in each chunk range ``[lo, hi)``: ``(w, channels)``."""
    on = np.asarray(on, dtype=float).reshape(len(on), -1)
    csum = np.vstack([np.zeros((1, on.shape[1])), np.cumsum(on, axis=0)])
    lo, hi = ranges[:, 0], ranges[:, 1]
    return (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)[:, None]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties); 0 when either side is constant."""
    from scipy.stats import rankdata  # the preview extra's scipy
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(np.corrcoef(rankdata(a), rankdata(b))[0, 1])


def loudness_light(on: np.ndarray, listening) -> float:
    """Spearman rho between each 1 s window's share of ON (chunk, light) pairs and its level [dB FS].

    :param listening: the song's :class:`train.show.listening.Listening` on the show's chunk grid.
    """
    if len(listening.loud_db) < 3:
        return float("nan")
    share = _window_shares(on, listening.loud_chunks).mean(axis=1)
    return spearman(share, listening.loud_db)


def dark_fraction(on: np.ndarray, listening) -> float:
    """Share of the audible chunks (>= -40 dB FS) in which every light is OFF [fraction]."""
    from .listening import AUDIBLE_DB
    on = np.asarray(on, dtype=bool).reshape(len(on), -1)
    audible = listening.chunk_db[: on.shape[0]] >= AUDIBLE_DB
    if not audible.any():
        return float("nan")
    return float(np.mean(~on[: len(audible)][audible].any(axis=1)))


def consistency(on: np.ndarray, listening, min_apart: float = MIN_APART) -> float:
    """``1 - d_nn / d_rand``: do similar-sounding moments get similar lights? [fraction]

    See the module docstring (metric 7). NaN when no two windows are ``min_apart`` apart.
    """
    lights = _window_shares(on, listening.sound_chunks)
    sound, t = listening.sound, listening.sound_times
    if len(t) < 2:
        return float("nan")
    apart = np.abs(t[:, None] - t[None, :]) >= min_apart - 1e-9
    if not apart.any():
        return float("nan")
    sq = (sound * sound).sum(axis=1)
    dist = sq[:, None] + sq[None, :] - 2.0 * sound @ sound.T
    dist[~apart] = np.inf
    has = apart.any(axis=1)
    nn = np.argmin(dist, axis=1)[has]
    d_nn = np.abs(lights[has] - lights[nn]).mean()
    i, j = np.nonzero(np.triu(apart))
    d_rand = np.abs(lights[i] - lights[j]).mean()
    if d_rand <= 0:
        return 0.0
    return float(1.0 - d_nn / d_rand)


def note_shares(on: np.ndarray, chunk_seconds: float, notes: np.ndarray,
                span: float = REGISTER_SPAN) -> np.ndarray:
    """Each light's share of ON time over each note's first ``min(duration, span)`` s.

    :param notes: float ``(n, 3)``: start [s], MIDI number, duration [s].
    :returns: float ``(n, channels)``; chunks are weighted by their overlap with the span.
    """
    on = np.asarray(on, dtype=float).reshape(len(on), -1)
    out = np.zeros((len(notes), on.shape[1]))
    for k, (t0, _midi, dur) in enumerate(np.asarray(notes, dtype=float)):
        t1 = t0 + min(dur, span)
        lo = int(np.floor(t0 / chunk_seconds + 1e-9))
        hi = min(int(np.ceil(t1 / chunk_seconds - 1e-9)), on.shape[0])
        if hi <= lo:
            continue
        edges = np.arange(lo, hi + 1) * chunk_seconds
        overlap = np.minimum(edges[1:], t1) - np.maximum(edges[:-1], t0)
        out[k] = overlap @ on[lo:hi] / max(overlap.sum(), 1e-12)
    return out


def stratified_folds(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold number of each item: each label's items shuffled (seeded) and dealt round robin."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(labels), dtype=int)
    for y in np.unique(labels):
        idx = rng.permutation(np.nonzero(labels == y)[0])
        fold[idx] = np.arange(len(idx)) % folds
    return fold


def nearest_centroid_cv(x: np.ndarray, labels: np.ndarray, folds: int = REGISTER_FOLDS,
                        seed: int = 0) -> float:
    """Accuracy of a Euclidean nearest-centroid classifier, ``folds``-fold stratified [fraction]."""
    x, labels = np.asarray(x, dtype=float), np.asarray(labels)
    fold = stratified_folds(labels, folds, seed)
    right = 0
    for f in range(folds):
        test, train = fold == f, fold != f
        kinds = np.unique(labels[train])
        centroids = np.array([x[train & (labels == k)].mean(axis=0) for k in kinds])
        dist = ((x[test][:, None, :] - centroids[None]) ** 2).sum(axis=2)
        right += int(np.sum(kinds[np.argmin(dist, axis=1)] == labels[test]))
    return right / len(labels) if len(labels) else float("nan")


def register_accuracy(on: np.ndarray, chunk_seconds: float, notes: np.ndarray,
                      seed: int = 0) -> float:
    """Octave of each melody note told from the lights (metric 8) [fraction; chance 1/3]."""
    notes = np.asarray(notes, dtype=float).reshape(-1, 3)
    octave = (notes[:, 1] // 12).astype(int) - 1
    return nearest_centroid_cv(note_shares(on, chunk_seconds, notes), octave, seed=seed)


# ---------------------------------------------------------------- a method's row

def show_metrics(bright: np.ndarray, chunk_seconds: float, music_onsets: np.ndarray,
                 onset_source: str, duration: Optional[float] = None,
                 sections: Optional[Tuple[np.ndarray, np.ndarray]] = None,
                 seed: int = 0, listening=None, notes: Optional[np.ndarray] = None
                 ) -> Dict[str, object]:
    """Every metric of one show, on its ON/OFF states.

    :param bright: brightness ``(n_chunks, channels)`` in [0, 1] (for pwm, the
        pin values); ON is brightness > 0.5.
    :param music_onsets: [s]; ``onset_source``: ``"exact"`` or ``"detector"``.
    :param duration: song length [s] (default: chunks * chunk_seconds).
    :param sections: ``(labels, instances)`` per whole second, synthetic songs only.
    :param listening: the song's :class:`train.show.listening.Listening` (loudness,
        dark and consistency are None without it).
    :param notes: ``(n, 3)`` melody notes (start [s], MIDI, duration [s]) for
        the register metric (melody songs only).
    :returns: a flat dict (see the module docstring for each number).
    """
    bright = np.asarray(bright, dtype=float).reshape(len(bright), -1)
    on = bright > ON_THRESHOLD
    duration = float(duration if duration is not None else on.shape[0] * chunk_seconds)
    rhythm = onset_scores(light_onsets(on, chunk_seconds), music_onsets, duration, seed=seed)
    flick = flicker(on, chunk_seconds)
    duty = duty_cycles(on)
    row: Dict[str, object] = {
        "onset_source": onset_source,
        "music_onsets": int(len(music_onsets)),
        "onset_f": rhythm["f"], "onset_chance": rhythm["chance"],
        "onset_f_minus_chance": rhythm["f_minus_chance"],
        "toggles_median": flick["toggles_median"], "toggles_worst": flick["toggles_worst"],
        "short_on_fraction": flick["short_on_fraction"],
        "mean_abs_r": diversity(on.astype(float)),
        "duty": [float(d) for d in duty], "stuck": stuck_channels(duty),
        "on_fraction": float(on.mean()) if on.size else float("nan"),
        "loudness_rho": None, "dark": None, "consistency": None,
        "section_accuracy": None, "register": None,
    }
    if listening is not None:
        row["loudness_rho"] = loudness_light(on, listening)
        row["dark"] = dark_fraction(on, listening)
        row["consistency"] = consistency(on, listening)
    if sections is not None:
        labels, instances = sections
        vectors = second_means(on.astype(float), chunk_seconds, len(labels))
        row["section_accuracy"] = section_accuracy(vectors, labels, instances)
    if notes is not None:
        row["register"] = register_accuracy(on, chunk_seconds, notes, seed=seed)
    return row


__all__ = ("WINDOW", "SHORT_ON", "STUCK_LOW", "STUCK_HIGH", "ON_THRESHOLD", "light_onsets",
           "f_measure", "onset_scores", "on_periods", "flicker", "diversity", "duty_cycles",
           "stuck_channels", "second_means", "section_accuracy", "MIN_APART", "REGISTER_SPAN",
           "spearman", "loudness_light",
           "dark_fraction", "consistency", "note_shares", "stratified_folds", "nearest_centroid_cv",
           "register_accuracy", "show_metrics")
