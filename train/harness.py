"""``python -m train harness``: the show as the real LightShowPi makes it, scored.

Runs songs through unmodified LightShowPi checkouts with the plugin, using
``../shared/lightshowpi-harness`` (no Pi, no sound card; it records what reaches
the hardware layer), and scores what the lights did with the same metrics as
``crossval`` (:mod:`train.show.metrics`): ``--createcache`` then ``play``, so the
lights follow LightShowPi's cached per-song statistics, at each fork's own
defaults (the original: chunk 2048, ``use_gpu = True`` through the harness's
GPU stand-in; Neo: chunk 4096), onoff pins. Each song is also shown offline
(the runtime pipeline and :mod:`train.show.lightshow`'s rule on the same decoded
audio): the share of (chunk, light) states on which the two agree says how far
the offline tables can be trusted for the real program.

Songs: files given, plus ``--synthetic`` section songs and ``--melody``
register melodies (written to WAV; both decoders read WAV alike). The model:
``--model`` (default: the shipped one) for every song, or ``--fold-models
DIR`` with one ``<song stem>.tflite`` per song (e.g. crossval's fold models).
Writes ``OUT/harness.md`` and ``.json``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
from typing import Dict, List, Optional

import numpy as np

from . import crossval
from .show import lightshow, methods, preview, report

HARNESS = os.path.normpath(os.path.join(preview.REPO, "..", "shared", "lightshowpi-harness"))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("songs", nargs="*", help="audio files (default: none, synthetic songs only)")
    p.add_argument("--lsp", action="append", default=[], metavar="CHECKOUT",
                   help="a LightShowPi checkout (setup_lsp.sh); give one per fork")
    p.add_argument("--harness", default=HARNESS, help="the harness folder (default %(default)s)")
    p.add_argument("--harness-venv", default=None, metavar="DIR",
                   help="where the harness venv lives (made if missing: LightShowPi's "
                        "dependencies); this repository is installed into it as a user would "
                        "(default: a temporary folder)")
    p.add_argument("--model", default=None, help="model for every song (default: the shipped one)")
    p.add_argument("--synthetic", type=int, default=2, metavar="N")
    p.add_argument("--synthetic-seed", type=int, default=8)
    p.add_argument("--section-seconds", type=int, default=6)
    p.add_argument("--melody", type=int, default=1, metavar="N")
    p.add_argument("--melody-seed", type=int, default=3)
    p.add_argument("--melody-seconds", type=float, default=60.0)
    p.add_argument("--out", default="out", help="output folder (default %(default)s)")


def plugin_venv(harness: str, checkout: str, venv: str, scratch: str) -> str:
    """The harness venv ``venv`` (made by the harness if missing: LightShowPi's dependencies)
    with this repository installed as a user would, keeping the venv's numpy."""
    if not os.path.isfile(os.path.join(venv, ".lsp_harness_ok")):
        song = os.path.join(scratch, "boot.wav")
        from .show.audio import write_wav
        write_wav(song, np.zeros((44100, 2), np.int16), 44100)
        subprocess.run([os.path.join(harness, "run_lsp.sh"), "--lsp", checkout, "--venv", venv,
                        "--song", song, "--mode", "createcache", "--out", os.path.join(scratch, "boot")],
                       capture_output=True, text=True)
    py = os.path.join(venv, "bin", "python")
    numpy_pin = subprocess.run([py, "-c", "import numpy; print(numpy.__version__)"],
                               capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "numpy==" + numpy_pin, preview.REPO], capture_output=True, text=True, check=True)
    return venv


def play(harness: str, checkout: str, venv: str, song: str, model: Optional[str], out: str) -> Dict:
    """``--createcache`` then ``play`` of ``song``; returns the play's summary and brightness
    ``(chunks, lights)``."""
    cfg = os.path.join(out, "overrides.cfg")
    os.makedirs(out, exist_ok=True)
    with open(cfg, "w") as fh:
        fh.write("[audio_processing]\nautoencoder = on\n"
                 + ("autoencoder_model = %s\n" % model if model else ""))
    for mode in ("createcache", "play"):
        r = subprocess.run([os.path.join(harness, "run_lsp.sh"), "--lsp", checkout, "--venv", venv,
                            "--song", song, "--mode", mode, "--out", os.path.join(out, mode),
                            "--overrides", cfg, "--timeout", "900"], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("run_lsp.sh %s failed on %s: %s" % (mode, song, r.stderr[-500:]))
    played = os.path.join(out, "play")
    summary = json.load(open(os.path.join(played, "summary.json")))
    return {"summary": summary, "brightness": np.load(os.path.join(played, "brightness.npy"))}


def run(args: argparse.Namespace) -> int:
    from .show.audio import write_wav
    from lightshowpi_autoencoder import modelfile
    if not args.lsp:
        print("harness: name LightShowPi checkouts with --lsp (setup_lsp.sh)", file=sys.stderr)
        return 2
    if not os.path.isfile(os.path.join(args.harness, "run_lsp.sh")):
        print("harness: no run_lsp.sh in %s" % args.harness, file=sys.stderr)
        return 2
    model = modelfile.load(args.model or modelfile.default_model_path())
    songs = [preview.load_song(p, None, 0.0, None) for p in args.songs]
    ns = argparse.Namespace(songs=[], synthetic=args.synthetic, synthetic_seed=args.synthetic_seed,
                            section_seconds=args.section_seconds, melody=args.melody,
                            melody_seed=args.melody_seed, melody_seconds=args.melody_seconds)
    songs += crossval._songs(ns)[1] if args.synthetic or args.melody else []
    results: List[Dict] = []
    with tempfile.TemporaryDirectory(prefix="harness-") as tmp:
        venv = plugin_venv(args.harness, args.lsp[0], args.harness_venv or os.path.join(tmp, "venv"),
                           tmp)
        for song in songs:
            wav = os.path.join(tmp, os.path.splitext(song.name)[0] + ".wav")
            write_wav(wav, song.pcm, song.rate)
            entry = {"name": song.name, "kind": crossval._kind(song), "forks": {}}
            for checkout in args.lsp:
                fork = os.path.basename(checkout.rstrip("/"))
                got = play(args.harness, checkout, venv, wav, args.model,
                           os.path.join(tmp, fork, os.path.splitext(song.name)[0]))
                chunk = int(got["summary"]["chunk_size"])
                settings = methods.ShowSettings(chunk_size=chunk)
                offline = preview.compute(song, settings, model, None, ["encoder"])["encoder"]
                real = got["brightness"][: len(offline.brightness)]
                shows = {"LightShowPi": methods.Show(real, (real > 0.5).astype(float),
                                                     offline.mean, offline.std),
                         "offline": offline}
                scored = preview.score(song, shows, lightshow.chunk_seconds(chunk, song.rate))
                n = min(len(real), len(offline.brightness))
                entry["forks"][fork] = {
                    "chunk_size": chunk, "scores": scored,
                    "agreement": float(np.mean((real[:n] > 0.5) == (offline.brightness[:n] > 0.5)))}
            results.append(entry)
    tables = {}
    for checkout in args.lsp:
        fork = os.path.basename(checkout.rstrip("/"))
        per = [{"kind": e["kind"], "methods": e["forks"][fork]["scores"]} for e in results]
        tables[fork] = {"means": crossval.means(per, ["LightShowPi", "offline"]),
                        "agreement": float(np.mean([e["forks"][fork]["agreement"] for e in results]))}
    out = {"generated": datetime.datetime.now().isoformat(timespec="seconds"),
           "command": "python -m train harness " + " ".join(sys.argv[2:]),
           "model": model.model_id, "tables": tables, "songs": results}
    os.makedirs(args.out, exist_ok=True)
    lines = ["# The show in the real LightShowPi", "",
             "Generated %s by `%s`, model `%s`. Each song through LightShowPi (`--createcache`, "
             "then `play`: cached statistics, onoff pins) with the plugin, and offline. Songs: %s."
             % (out["generated"], out["command"], model.model_id,
                ", ".join(e["name"] for e in results)), ""]
    for fork, t in tables.items():
        lines += ["## %s" % fork, "", "ON/OFF states the real program and the offline show agree "
                  "on: %.2f %% of (chunk, light) pairs." % (100 * t["agreement"]), ""]
        lines += crossval.table_lines(t["means"]) + [""]
    with open(os.path.join(args.out, "harness.md"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    with open(os.path.join(args.out, "harness.json"), "w", encoding="utf-8") as fh:
        json.dump(report._finite(out), fh, indent=1, default=report._json_default)
    print("\n".join(lines))
    return 0


__all__ = ("HARNESS", "add_arguments", "plugin_venv", "play", "run")
