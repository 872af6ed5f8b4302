"""Sections 6 and 7: feature extraction speed and the default model's training time.
"""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time

from .common import DEFAULT_MUSIC, REPO, Section, Skip, fmt, mark, ratio
from .env import Config, child_env, expand_songs


def section_features(cfg: Config, sec: Section) -> None:
    songs = cfg.need_songs()
    from lightshowpi_autoencoder import features as F
    from ..show.audio import decode
    rows = []
    tot_audio = tot_feat = tot_dec = 0.0
    per = []
    for path in songs:
        t0 = time.perf_counter()
        try:
            pcm, rate = decode(path)
        except Exception as exc:
            rows.append([os.path.basename(path), "", "", "", "", "failed: %s" % exc])
            continue
        t1 = time.perf_counter()
        F.song_features(pcm, rate, 2048)
        t2 = time.perf_counter()
        audio = pcm.shape[0] / float(rate)
        tot_audio += audio
        tot_dec += t1 - t0
        tot_feat += t2 - t1
        x = ratio(audio, t2 - t1)
        per.append({"song": os.path.basename(path), "audio_s": audio, "decode_s": t1 - t0,
                    "features_s": t2 - t1})
        rows.append([os.path.basename(path), fmt(audio, 1), fmt(t1 - t0, 2), fmt(t2 - t1, 2),
                     fmt(x, 0), fmt(ratio(audio, t1 - t0), 0)])
    if not per:
        raise RuntimeError("no song decoded")
    xt = ratio(tot_audio, tot_feat)
    c = sec.check("features_x", "%d songs, %.0f s of audio" % (len(per), tot_audio), xt)
    rows.append(["**all**", fmt(tot_audio, 1), fmt(tot_dec, 2), fmt(tot_feat, 2),
                 fmt(xt, 0) + " " + mark(c.ok), fmt(ratio(tot_audio, tot_dec), 0)])
    sec.method.append(
        "`lightshowpi_autoencoder.features.song_features(pcm, rate, 2048)` on each song decoded "
        "to int16 beforehand (`train.show.audio.decode`, timed separately), one process, one core.")
    sec.table(["Song", "Audio s", "Decode s", "Features s", "Features x real time",
               "Decode x real time"], rows)
    sec.data = {"songs": per, "x_realtime": xt}


def section_training(cfg: Config, sec: Section) -> None:
    if cfg.skip_training:
        raise Skip("--skip-training")
    songs = cfg.need_songs()
    if not os.path.isfile(os.path.join(REPO, "train", "fit.py")):
        raise Skip("train fit not available (no train/fit.py)")
    env = child_env()
    r = subprocess.run([sys.executable, "-m", "train", "fit", "--help"], capture_output=True,
                       text=True, env=env, cwd=REPO, timeout=300)
    if r.returncode != 0:
        raise Skip("train fit not available (`python -m train fit --help`: %s)"
                   % (r.stderr.strip().splitlines() or ["exit %d" % r.returncode])[-1])
    work = os.path.join(cfg.tmp, "fit")
    os.makedirs(work, exist_ok=True)
    music = [DEFAULT_MUSIC] if songs == expand_songs([DEFAULT_MUSIC]) else songs
    cmd = [sys.executable, "-m", "train", "fit", *music, "--preset", "default",
           "--out", os.path.join(work, "model")]
    if "--cache-dir" in r.stdout:
        cmd += ["--cache-dir", os.path.join(work, "cache")]   # cold: decode + features included
    if "--quiet" in r.stdout:
        cmd.append("--quiet")
    sec.method.append(
        "A subprocess, wall time: `%s` with an empty feature cache (so decoding and feature "
        "extraction are included), %d songs."
        % (" ".join(shlex.quote(os.path.relpath(a, REPO) if a.startswith(REPO + os.sep) else a)
                    for a in ["python"] + cmd[1:]), len(songs)))
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO,
                           timeout=cfg.fit_timeout)
    except subprocess.TimeoutExpired:
        c = sec.check("fit_s", "python -m train fit --preset default", None,
                      note="> %g s (timed out)" % cfg.fit_timeout)
        c.ok = False
        sec.table(["Command", "Wall s", "≤ 180 s"], [["fit", "> %g (timeout)" % cfg.fit_timeout,
                                                    "FAIL"]])
        return
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        tail = (r.stderr.strip().splitlines() or ["exit %d" % r.returncode])[-1]
        raise RuntimeError("train fit exit %d: %s" % (r.returncode, tail))
    from lightshowpi_autoencoder import modelfile
    model = modelfile.load(os.path.join(work, "model.tflite"))
    c = sec.check("fit_s", "python -m train fit --preset default", wall)
    training = model.meta.get("training", {})
    rows = [["wall time of the command (interpreter, TensorFlow import, decoding, features, "
             "training, export)", fmt(wall, 1) + " s " + mark(c.ok)]]
    import re
    said = [line for line in r.stdout.splitlines() if line.startswith("trained ")]
    m = re.search(r"features ([0-9.]+) s, total ([0-9.]+) s", said[0]) if said else None
    if m:
        rows.append(["of which decoding + features (fit's own count)", m.group(1) + " s"])
        rows.append(["fit's own total (after its imports)", m.group(2) + " s"])
    if said:
        rows.append(["fit says", said[0]])
    for key in ("preset", "epochs", "loss"):
        if key in training:
            rows.append([key, json.dumps(training[key])])
    rows.append(["songs (training / validation)", "%d / %d" % (
        len(training.get("songs", [])), len(training.get("validation_songs", [])))])
    rows.append(["model", "%d channels, id %s" % (model.channels, model.model_id)])
    sec.table(["Training", "Value"], rows)
    sec.data = {"wall_s": wall, "command": cmd, "stdout": r.stdout[-4000:],
                "training": {k: v for k, v in training.items() if k != "songs"}}
