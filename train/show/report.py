"""``python -m train report``: the show-quality table for many songs and methods.

Songs: every audio file in ``../shared/music/`` (relative to the repository)
unless songs are named, plus ``--synthetic N`` songs from :mod:`train.show.synth`
with exact onsets and sections. Methods: the encoder, LightShowPi's
frequency buckets and an 8-component PCA of the same feature frames; every
method's rows go through the same LightShowPi brightness rule (song's own
cache statistics by default, as from the second play on).

The PCA is fitted leave-one-out: for a real song, on all *other* real songs
of the run; for a synthetic song, on all real songs (on the other synthetic
songs when there are no real ones). Writes ``OUT/report.md`` (a table per
song, the mean per method, a legend) and ``OUT/report.json``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import sys
from typing import Dict, List, Optional

import numpy as np

from . import lightshow, methods, metrics, onsets, preview, tables

log = logging.getLogger("train")
MUSIC = os.path.normpath(os.path.join(preview.REPO, "..", "shared", "music"))
#: numeric metrics averaged in the mean rows
MEANS = ("onset_f", "onset_chance", "onset_f_minus_chance", "toggles_median", "toggles_worst",
         "short_on_fraction", "mean_abs_r", "stuck_count", "loudness_rho", "dark", "consistency",
         "section_accuracy", "register")

LEGEND = """\
## Legend

Each song's audio is cut into chunks of {chunk} frames ({chunk_ms:.1f} ms at 44.1 kHz), as LightShowPi reads it.
Each method turns a chunk into 8 levels; LightShowPi's brightness rule (per-channel mean/std,
SD_low {sd_low}, SD_high {sd_high}, attenuate {att}%, decay {decay}) makes them brightness in [0, 1];
a light is ON when brightness > 0.5 (LightShowPi's `onoff` pins). Mean/std: **{stats}**
({stats_note}).

| column | definition |
|---|---|
| onset F | `mir_eval.onset.f_measure` (50 ms window) between the music onsets and the light onsets: chunk start times at which any channel turns ON, merged within 50 ms |
| chance | mean F of the same light onsets against the music onsets circularly shifted by 20 random offsets (0.5 s to length - 0.5 s, seeded) |
| F-chance | onset F - chance: ~0 for a show unrelated to the music's rhythm |
| tog/s med, worst | ON/OFF toggles per second of each channel [1/s]: median and worst channel |
| ON<100ms | fraction of ON periods (all channels) shorter than 100 ms |
| mean abs r | mean absolute Pearson correlation between the 8 ON/OFF traces (lower = more diverse) |
| stuck | channels ON < 5% or > 95% of the time (1-based) |
| loud->light | Spearman rho between the share of lights ON and the audio's RMS level [dB FS], 1 s windows (hop 0.5 s) above -50 dB FS |
| dark | share of the chunks at or above -40 dB FS in which every light is OFF |
| consistency | 1 - d_nn / d_rand: lights' ON shares in 0.5 s windows, compared between each window and its nearest neighbour in sound (mean log-mel, 64 bands) at least 4 s away, against all pairs 4 s apart (0 = no better than chance, 1 = the same sound always gets the same lights) |
| sections | synthetic songs only: leave-one-section-instance-out accuracy of a nearest-centroid classifier on each light's share of ON time per second (chance = 1/{kinds}) |
| onsets | where the music onsets come from: **exact** (synthetic song ground truth) or **detector** (spectral flux on the plugin's 1024-sample feature frames, hop 512, 6 bands/octave, adaptive threshold and peak picking; `train/show/onsets.py`) |

Methods: **encoder** = the plugin ({model}); **buckets** = LightShowPi's own frequency buckets
(log-spaced bands {fmin:g}-{fmax:g} Hz, log10 band power; `train/show/lightshow.py`, checked against the
real LightShowPi's `.sync` output); **pca** = 8-component PCA of the same feature frames, scores
standardised and mapped to 12 + 1.5 z like the encoder, fitted leave-one-out (a real song: on the
other real songs of this run; a synthetic song: on all real songs).
Songs marked † were in the encoder's training set (not held out): its numbers there are not a test.
Onset detector check: on the synthetic songs the detector finds the exact onsets with F = {det_f}.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("songs", nargs="*",
                   help="audio files or folders (default: every audio file in %s)"
                   % os.path.relpath(MUSIC))
    p.add_argument("--synthetic", type=int, default=4, metavar="N",
                   help="add N synthetic songs with exact onsets and sections (default 4)")
    p.add_argument("--section-seconds", type=int, default=6,
                   help="length of each synthetic section [s] (default 6)")
    p.add_argument("--synthetic-seed", type=int, default=0,
                   help="seed of the first synthetic song (default 0)")
    p.add_argument("--methods", default="encoder,buckets,pca",
                   help="comma-separated subset of encoder,buckets,pca (default: all)")
    preview.add_show_arguments(p)


class _Entry:
    """One song of the run: audio, onsets, and (for the PCA) its feature statistics."""

    def __init__(self, song: preview.Song, kind: str, sha: Optional[str] = None) -> None:
        self.song, self.kind, self.sha = song, kind, sha
        self.stats: Optional[methods.FrameStats] = None
        self.feats = self.silent = None


def _load(args, model_rate: float) -> List[_Entry]:
    from .audio import DecodeError, file_sha256, list_songs
    from .synth import make_song

    paths = list_songs(args.songs or ([MUSIC] if os.path.isdir(MUSIC) else []))
    if not args.songs and not paths:
        log.warning("no music at %s: synthetic songs only", MUSIC)
    entries: List[_Entry] = []
    for path in paths:
        try:
            song = preview.load_song(path, None, 0.0, None)
        except (DecodeError, OSError) as exc:
            log.warning("skipping %s", exc)
            continue
        if song.pcm.shape[0] == 0 or not song.pcm.any():
            log.warning("skipping %s: silent", path)
            continue
        entries.append(_Entry(song, "real", file_sha256(path)))
    first = getattr(args, "synthetic_seed", 0)
    for seed in range(first, first + args.synthetic):
        s = make_song(seed, section_seconds=args.section_seconds)
        entries.append(_Entry(preview.Song(s.name, s.pcm, s.rate, s.onsets, "exact",
                                           s.second_labels()), "synthetic"))
    for e in entries:
        e.feats, e.silent = methods.song_features(e.song.pcm, e.song.rate, args.chunk_size, model_rate)
        e.stats = methods.FrameStats.of(e.feats[~e.silent])
    return entries


def _pca_for(entry: _Entry, entries: List[_Entry], model_rate: float) -> Optional[methods.Pca]:
    """Leave-one-out PCA: fitted on the other real songs (or other synthetic if no real)."""
    pool = [e for e in entries if e.kind == "real" and e is not entry]
    if not pool:
        pool = [e for e in entries if e is not entry]
    pool = [e for e in pool if e.stats.n]
    if not pool:
        return None
    total = pool[0].stats
    for e in pool[1:]:
        total = total + e.stats
    return methods.Pca(total, model_rate=model_rate)


def _means(results: List[Dict], names: List[str]) -> Dict[str, Dict[str, Optional[float]]]:
    out: Dict[str, Dict[str, Optional[float]]] = {}
    for name in names:
        out[name] = {}
        for key in MEANS:
            vals = [r["methods"][name][key] for r in results if name in r["methods"]]
            vals = [float(v) for v in vals if v is not None and np.isfinite(v)]
            out[name][key] = float(np.mean(vals)) if vals else None
        out[name]["songs"] = sum(1 for r in results if name in r["methods"])
    return out


def _md_table(rows: Dict[str, Dict], sections: bool, stuck_count: bool = False) -> List[str]:
    cols = [("onset_f", "onset F"), ("onset_chance", "chance"), ("onset_f_minus_chance", "F-chance"),
            ("toggles_median", "tog/s med"), ("toggles_worst", "tog/s worst"),
            ("short_on_fraction", "ON<100ms"), ("mean_abs_r", "mean abs r"),
            ("stuck_count" if stuck_count else "stuck", "stuck" + (" (mean count)" if stuck_count else "")),
            ("loudness_rho", "loud->light"), ("dark", "dark"), ("consistency", "consistency")]
    if sections:
        cols.append(("section_accuracy", "sections"))
    return tables.md_table(["method"] + [t for _, t in cols],
                           ([name] + [preview.fmt(row.get(k)) for k, _ in cols]
                            for name, row in rows.items()), right_from=1)


def kind_tables(means_by_kind: Dict[str, Dict], heading: str, real_title: str) -> List[str]:
    """Markdown: one mean table per kind of song (real, then synthetic with sections)."""
    lines: List[str] = []
    for kind, title in (("real", real_title), ("synthetic", "synthetic songs (onsets: exact)")):
        group = means_by_kind.get(kind)
        if group:
            n = next(iter(group.values()))["songs"]
            lines += ["%s Mean over %d %s" % (heading, n, title), ""]
            lines += _md_table(group, kind == "synthetic", stuck_count=True)
            lines.append("")
    return lines


def write_markdown(path: str, report: Dict) -> None:
    s = report["settings"]
    names = report["methods"]
    lines = ["# Show-quality report", "",
             "Generated %s by `python -m train report`. Model: %s (`%s`). %d songs (%d real, %d synthetic)."
             % (report["generated"], s["model"], s["model_id"], len(report["songs"]),
                sum(1 for r in report["songs"] if r["kind"] == "real"),
                sum(1 for r in report["songs"] if r["kind"] == "synthetic")), "",
             "## Mean over songs", ""]
    lines += _md_table(report["means"], any(r["kind"] == "synthetic" for r in report["songs"]),
                       stuck_count=True)
    lines += ["", "Sections accuracy is averaged over the synthetic songs only; the other columns "
              "over all songs.", ""]
    lines += kind_tables(report["means_by_kind"], "###", "real songs (onsets: detector)")
    lines += ["## Per song", ""]
    for r in report["songs"]:
        mark = " †" if r.get("in_encoder_training") else ""
        lines += ["### %s%s" % (r["name"], mark), "",
                  "%.1f s, %s, %d music onsets (%s)." % (r["seconds"], r["kind"], r["music_onsets"],
                                                        r["onset_source"]), ""]
        lines += _md_table(r["methods"], r["kind"] == "synthetic")
        lines.append("")
    chunk_ms = 1000.0 * s["chunk_size"] / 44100.0
    det = report.get("detector_check") or []
    det_f = ("%.3f (mean over %d songs)" % (np.mean([d["f"] for d in det]), len(det))
             if det else "n/a (no synthetic songs in this run)")
    lines.append(LEGEND.format(
        chunk=s["chunk_size"], chunk_ms=chunk_ms, sd_low=s["sd_low"], sd_high=s["sd_high"],
        att=s["attenuate_pct"], decay=s["decay_factor"], stats=s["stats"],
        stats_note="the song's own per-channel mean/std of positive levels, as LightShowPi's "
        "save_cache stores them and uses from the second play on" if s["stats"] == "cached"
        else "12 and 1.5 for every channel, as LightShowPi's first play without a cache",
        kinds=4, model=s["model"], fmin=lightshow.MIN_FREQUENCY, fmax=lightshow.MAX_FREQUENCY,
        det_f=det_f))
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))


def run(args: argparse.Namespace) -> int:
    from lightshowpi_autoencoder.errors import PluginError

    settings = preview.settings_from(args)
    names = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [m for m in names if m not in methods.METHODS]
    if bad:
        print("report: unknown method(s) %s" % ", ".join(bad), file=sys.stderr)
        return 2
    try:
        model = preview.load_model(args.model)
    except PluginError as exc:
        print("report: %s" % exc, file=sys.stderr)
        return 2
    entries = _load(args, model.sample_rate)
    if not entries:
        print("report: no songs", file=sys.stderr)
        return 2
    trained = {s.get("sha256") for s in model.meta.get("training", {}).get("songs", [])}
    results: List[Dict] = []
    detector_check = []
    for e in metrics_progress(entries):
        song = e.song
        pca = _pca_for(e, entries, model.sample_rate) if "pca" in names else None
        shows = preview.compute(song, settings, model, pca, names)
        rows = preview.score(song, shows, lightshow.chunk_seconds(settings.chunk_size, song.rate))
        for row in rows.values():
            row["stuck_count"] = len(row["stuck"])
        if e.kind == "synthetic":
            det = onsets.detect_onsets(song.pcm, song.rate)
            detector_check.append({"song": song.name, "f": metrics.f_measure(song.onsets, det)})
        results.append({"name": song.name, "kind": e.kind, "seconds": song.seconds,
                        "onset_source": song.onset_source, "music_onsets": int(len(song.onsets)),
                        "in_encoder_training": bool(e.sha and e.sha in trained),
                        "pca_training_frames": pca.training_frames if pca else None,
                        "methods": rows})
    shown = [n for n in names if any(n in r["methods"] for r in results)]
    means = _means(results, shown)
    by_kind = {kind: _means([r for r in results if r["kind"] == kind], shown)
               for kind in ("real", "synthetic") if any(r["kind"] == kind for r in results)}
    report = {"generated": datetime.datetime.now().isoformat(timespec="seconds"),
              "settings": {"chunk_size": settings.chunk_size, "sd_low": settings.sd_low,
                           "sd_high": settings.sd_high, "attenuate_pct": settings.attenuate_pct,
                           "decay_factor": settings.decay_factor, "pin_mode": settings.pin_mode,
                           "stats": settings.stats, "model": model.name,
                           "model_id": model.model_id, "methods": names,
                           "pca": "leave-one-out: other real songs (synthetic songs: all real songs)",
                           "onset_window_s": metrics.WINDOW},
              "methods": names, "songs": results, "means": means, "means_by_kind": by_kind,
              "detector_check": detector_check, "detector": onsets.DETECTOR}
    os.makedirs(args.out, exist_ok=True)
    md, js = os.path.join(args.out, "report.md"), os.path.join(args.out, "report.json")
    write_markdown(md, report)
    with open(js, "w", encoding="utf-8") as fh:
        json.dump(_finite(report), fh, indent=1, default=_json_default)
        fh.write("\n")
    print("\n".join(_md_table(means, any(r["kind"] == "synthetic" for r in results), True)))
    print("\nwrote %s and %s (%d songs)" % (md, js, len(results)))
    return 0


def metrics_progress(entries: List[_Entry]):
    try:
        from tqdm import tqdm
    except ImportError:
        return entries
    return tqdm(entries, desc="report", unit="song", leave=False)


def _finite(value):
    """NaN/Inf -> None, so report.json is strict JSON."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, (float, np.floating)) and not np.isfinite(value):
        return None
    return value


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(type(value).__name__)
