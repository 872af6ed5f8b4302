"""Sections 2 and 3(a): whole ``--createcache`` runs through the LightShowPi
harness, with and without the plugin (wall time, peak RSS).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

from .common import MB, REPO, Section, Skip, fmt, log, mark, median, ratio
from .env import PROBE, Config, clean_env, run_captured
from .fresh import median_length_song


def _installed_plugin(venv: str) -> Tuple[Optional[str], List[str], str]:
    """``(package dir, stale files, why)`` of the plugin in the harness venv."""
    py = os.path.join(venv, "bin", "python")
    r = run_captured([py, PROBE, "plugin"], env=clean_env(), cwd="/")
    if r.returncode != 0:
        return None, [], "the plugin is not installed in %s (%s)" % (
            venv, (r.stderr.strip().splitlines() or ["?"])[-1])
    pkg, has_pth = r.stdout.split()
    if has_pth != "True":
        return None, [], "%s has the package but not lightshowpi_autoencoder.pth" % venv
    stale = []
    src = os.path.join(REPO, "lightshowpi_autoencoder")
    for name in sorted(os.listdir(src)):
        if not name.endswith(".py"):
            continue
        mine = os.path.join(src, name)
        theirs = os.path.join(pkg, name)
        try:
            with open(mine, "rb") as a, open(theirs, "rb") as b:
                if a.read() != b.read():
                    stale.append(name)
        except OSError:
            stale.append(name + " (missing)")
    return pkg, stale, ""


HERE = os.path.dirname(os.path.abspath(__file__))
#: blocks of 8 KiB (~3 s of CD audio) audioread may queue in the createcache runs
#: (:mod:`train.bench.pin_decoder`)
PINNED_BLOCKS = 64


def pinned_decoder_path(cfg: Config) -> str:
    """A folder holding :mod:`train.bench.pin_decoder` as ``sitecustomize.py`` (made once
    per bench run)."""
    folder = os.path.join(cfg.tmp, "pinned-decoder")
    if not os.path.isdir(folder):
        os.makedirs(folder)
        shutil.copyfile(os.path.join(HERE, "pin_decoder.py"),
                        os.path.join(folder, "sitecustomize.py"))
    return folder


def _harness_once(cfg: Config, checkout: str, song: str, overrides: str, out: str
                  ) -> Dict[str, Any]:
    """One ``run_lsp.sh --mode createcache --fresh``: wall seconds, peak RSS, what wrote the cache."""
    cmd = [os.path.join(cfg.harness, "run_lsp.sh"), "--lsp", checkout, "--venv", cfg.venv,
           "--song", song, "--mode", "createcache", "--out", out, "--fresh",
           "--overrides", overrides, "--timeout", "900"]
    os.makedirs(out, exist_ok=True)
    rss_file = os.path.join(out, "maxrss.txt")
    t0 = time.perf_counter()
    with open(os.path.join(out, "run_lsp.txt"), "wb") as fh:
        # through a small interpreter: a child forked from this (large) process would
        # carry this process's resident size into its ru_maxrss
        subprocess.run([sys.executable, "-I", "-S", os.path.join(HERE, "rss_wrapper.py"),
                        rss_file] + cmd, stdout=fh, stderr=subprocess.STDOUT,
                       env=clean_env(PYTHONPATH=pinned_decoder_path(cfg),
                                     LSPAI_BENCH_PINNED_BLOCKS=str(PINNED_BLOCKS)),
                       stdin=subprocess.DEVNULL)
    outer = time.perf_counter() - t0
    try:
        with open(rss_file) as fh:
            rc, maxrss = (int(v) for v in fh.read().split())
    except (OSError, ValueError):
        rc, maxrss = -1, None
    res: Dict[str, Any] = {"rc": rc, "outer_s": outer, "maxrss_kb": maxrss, "out": out}
    try:
        with open(os.path.join(out, "summary.json")) as fh:
            summary = json.load(fh)
    except (OSError, ValueError) as exc:
        res["error"] = "no summary.json (%s); see %s/run_lsp.txt" % (exc, out)
        return res
    res["wall_s"] = summary.get("wall_seconds")
    res["chunks"] = summary.get("chunks")
    res["chunk_size"] = summary.get("chunk_size")
    res["audio_s"] = summary.get("audio_seconds")
    res["model_id"] = (summary.get("fft_cfg_after") or {}).get("autoencoder_model_id")
    if rc != 0:
        res["error"] = "run_lsp.sh exit %s; see %s/program_output.txt" % (rc, out)
    return res


def section_createcache(cfg: Config, sec: Section) -> None:
    if cfg.skip_harness:
        raise Skip("--skip-harness")
    if not cfg.harness:
        raise Skip(cfg.harness_why)
    if not cfg.venv:
        raise Skip(cfg.venv_why)
    forks = cfg.forks()
    if not forks:
        raise Skip(cfg.no_forks_reason())
    model_path = cfg.need_model()
    songs = cfg.need_songs()
    pkg, stale, why = _installed_plugin(cfg.venv)
    if not pkg:
        raise Skip(why + "; install it: %s/bin/pip install \"numpy<2\" %s" % (cfg.venv, REPO))
    from lightshowpi_autoencoder import modelfile
    model_id = modelfile.load(model_path).model_id
    song = cfg.cache_song or median_length_song(songs)
    work = os.path.join(cfg.tmp, "createcache")
    os.makedirs(os.path.join(work, "music"), exist_ok=True)
    song_copy = os.path.join(work, "music", os.path.basename(song))
    shutil.copyfile(song, song_copy)
    configs = []
    for kind, checkout in forks:
        if kind == "ez":
            configs.append(("EZ, use_gpu = True (default; emulated GPU shim)", checkout, {}))
            configs.append(("EZ, use_gpu = False", checkout, {"use_gpu": "False"}))
        else:
            configs.append(("Neo", checkout, {}))
    files: Dict[Tuple[int, bool], str] = {}
    for i, (_label, _co, extra) in enumerate(configs):
        for on in (False, True):
            lines = ["[audio_processing]"] + ["%s = %s" % kv for kv in extra.items()]
            lines.append("autoencoder = %s" % ("on" if on else "off"))
            if on:
                lines.append("autoencoder_model = %s" % model_path)
            path = os.path.join(work, "overrides-%d-%s.cfg" % (i, "on" if on else "off"))
            with open(path, "w") as fh:
                fh.write("\n".join(lines) + "\n")
            files[(i, on)] = path
    sec.method.append(
        "`run_lsp.sh --mode createcache --fresh` (harness `%s`, venv `%s`) on a copy of `%s`; "
        "without = the same venv with `autoencoder = off` (the plugin installed, its hook "
        "active, not enabled), with = `autoencoder = on` and `autoencoder_model` = the model "
        "above. %d runs of each, interleaved (config by config, off/on order alternating). Wall "
        "time = the LightShowPi process as lsp_run.py times it (`summary.json` wall_seconds). "
        "Every 'with' run is checked to have written a cache marked with the model's id, every "
        "'without' run one without it." % (cfg.harness, cfg.venv, os.path.basename(song), cfg.runs))
    if stale:
        sec.notes.append("the plugin installed in the harness venv differs from this repository "
                         "in: %s (reinstall: `%s/bin/pip install -q \"numpy<2\" %s`); the model "
                         "is passed by path, so it is this repository's."
                         % (", ".join(stale), cfg.venv, REPO))
    results: Dict[Tuple[int, bool], List[Dict[str, Any]]] = {k: [] for k in files}
    for rep in range(cfg.runs):
        for i, (label, checkout, _extra) in enumerate(configs):
            for on in ((False, True) if rep % 2 == 0 else (True, False)):
                out = os.path.join(work, "run-%d-%s-%d" % (i, "on" if on else "off", rep))
                log.info("bench: createcache %s, plugin %s, run %d/%d", label,
                         "on" if on else "off", rep + 1, cfg.runs)
                res = _harness_once(cfg, checkout, song_copy, files[(i, on)], out)
                if "error" not in res:
                    if on and res.get("model_id") != model_id:
                        res["error"] = ("the cache is not the plugin's (model id %r, expected %s): "
                                        "the plugin did not run; see %s/program.log"
                                        % (res.get("model_id"), model_id, out))
                    elif not on and res.get("model_id"):
                        res["error"] = "the plugin wrote the cache with autoencoder = off"
                results[(i, on)].append(res)
    rows = []
    mem_rows = []
    runs_data = []
    for i, (label, checkout, _extra) in enumerate(configs):
        off, on = results[(i, False)], results[(i, True)]
        errors = [r["error"] for r in off + on if "error" in r]
        runs_data.append({"config": label, "off": off, "on": on})
        if errors:
            rows.append([label, "", "", "", "", "", "failed: " + errors[0]])
            mem_rows.append([label, "", "", "", "failed: " + errors[0]])
            continue
        w_off, w_on = median(r["wall_s"] for r in off), median(r["wall_s"] for r in on)
        r_ = ratio(w_on, w_off)
        c = sec.check("createcache_ratio", label, r_)
        chunk = off[0].get("chunk_size")
        rows.append([label, chunk, fmt(off[0].get("audio_s"), 1), fmt(w_off, 2), fmt(w_on, 2),
                     fmt(r_, 3), mark(c.ok)])
        m_off = median(r["maxrss_kb"] for r in off)
        m_on = median(r["maxrss_kb"] for r in on)
        mem_rows.append([label, fmt(m_off * 1024 / MB, 1), fmt(m_on * 1024 / MB, 1),
                         fmt((m_on - m_off) * 1024 / MB, 1)])
        cfg.shared.setdefault("harness_rss", []).append((label, m_off, m_on))
        cfg.shared["song_seconds"] = off[0].get("audio_s") or 0.0
    sec.table(["LightShowPi", "Chunk", "Audio s", "Without s", "With s", "Ratio", "≤ 1.15"], rows)
    sec.notes.append("All runs (s): " + "; ".join(
        "%s: off %s / on %s" % (d["config"], ", ".join(fmt(r.get("wall_s"), 2) for r in d["off"]),
                                ", ".join(fmt(r.get("wall_s"), 2) for r in d["on"]))
        for d in runs_data))
    if any(k == "ez" for k, _ in forks):
        sec.notes.append("EZ's default use_gpu = True runs the harness's numpy stand-in for the "
                         "Pi's GPU FFT: the plugin then asks it for 513 one-bin bands per 1024-"
                         "sample frame (its Python loop over bands dominates). On a Pi 1-3 the real "
                         "GPU library does that in C; on x86 this row measures the stand-in.")
    sec.data = {"song": song, "model_id": model_id, "stale_files": stale, "runs": runs_data}
    cfg.shared["harness_mem_rows"] = mem_rows
