"""Section 3: added resident memory.
"""
from __future__ import annotations

import os
from typing import Any, Dict, List

from .common import FORK_NAMES, MB, NATIVE_CHUNK, RATE, Section, fmt, median
from .createcache import PINNED_BLOCKS
from .env import Config
from .fresh import run_child, first_fork, helper_python, song_pcm, usable_backends


def section_memory(cfg: Config, sec: Section) -> None:
    kind, checkout = first_fork(cfg)
    model_path = cfg.need_model()
    pcm_path, rate, song = song_pcm(cfg)
    chunk = NATIVE_CHUNK[kind]
    py, py_text = helper_python(cfg)
    sec.method.append(
        "(a) The createcache runs of section 2: peak RSS of the largest process of each "
        "`run_lsp.sh` tree, i.e. the LightShowPi process (`getrusage(RUSAGE_CHILDREN).ru_maxrss` "
        "in a small wrapper interpreter that runs `run_lsp.sh`), median per configuration. "
        "(b) Fresh interpreters, %s, each loading %s's `fft.py` and `%s` pre-decoded, then "
        "running LightShowPi's FFT or the plugin's over all chunks of the song (chunk %d): the "
        "peak (VmHWM, reset after loading the song) and the resident size after the song "
        "(VmRSS), median of %d each, interleaved." % (
            py_text, FORK_NAMES[kind], os.path.basename(song), chunk, cfg.fresh_runs))
    mem_rows = cfg.shared.get("harness_mem_rows")
    if mem_rows:
        sec.table(["(a) createcache via harness", "Without MB", "With MB", "Added MB"], mem_rows)
        for label, off_kb, on_kb in cfg.shared.get("harness_rss", []):
            sec.check("rss_mb", "(a) " + label, (on_kb - off_kb) * 1024 / MB)
    else:
        sec.notes.append("(a) skipped: section 2 did not run (%s)"
                         % cfg.shared.get("createcache_status", "see section 2"))
    rows = []
    backends = usable_backends(model_path)
    base_runs = []
    plug_runs: Dict[str, List[Dict[str, Any]]] = {b: [] for b, ok, _ in backends if ok}
    params = {"mode": "rss", "checkout": checkout, "shims": cfg.shims, "pcm": pcm_path,
              "chunk": chunk, "rate": rate, "model": model_path}
    for _ in range(cfg.fresh_runs):
        base_runs.append(run_child(dict(params, which="lsp"), python=py))
        for b in plug_runs:
            res = run_child(dict(params, which="plugin"), backend=b, python=py)
            if res["state"] != "active":
                raise RuntimeError("the plugin was not active in the helper (%s)" % res["state"])
            plug_runs[b].append(res)
    bh = median(r["hwm_kb"] for r in base_runs)
    ba = median(r["rss_after_kb"] for r in base_runs)
    rows.append(["LightShowPi FFT", fmt(bh * 1024 / MB, 1), "", fmt(ba * 1024 / MB, 1), ""])
    for b, runs in plug_runs.items():
        ph = median(r["hwm_kb"] for r in runs)
        pa = median(r["rss_after_kb"] for r in runs)
        rows.append(["plugin, %s" % b, fmt(ph * 1024 / MB, 1), fmt((ph - bh) * 1024 / MB, 1),
                     fmt(pa * 1024 / MB, 1), fmt((pa - ba) * 1024 / MB, 1)])
        sec.check("rss_mb", "(b) fresh interpreter, %s" % b, (ph - bh) * 1024 / MB)
    for b, ok, why in backends:
        if not ok:
            rows.append(["plugin, %s" % b, "skipped: " + why, "", "", ""])
    sec.table(["(b) fresh interpreter", "Peak MB", "Added peak MB", "After song MB",
               "Added MB"], rows)
    if not all(r["hwm_reset"] for r in base_runs):
        sec.notes.append("/proc/self/clear_refs unavailable: peaks include loading the song")
    if mem_rows:
        sec.notes.append(
            "(a) is the whole LightShowPi process, so it also holds decoded audio: the harness's "
            "decoder reads ffmpeg through audioread, whose reader thread queues the decoded song "
            "without bound (up to %.0f MB for this song, 16-32 MB swings between runs). In these "
            "runs that queue is pinned to %d blocks of 8 KiB (a `sitecustomize.py` on the "
            "LightShowPi process's PYTHONPATH, with and without the plugin alike), so (a) holds "
            "a fixed amount of audio. (b) is the plugin's own memory (modules, interpreter, "
            "model, per-chunk buffers)."
            % (cfg.shared.get("song_seconds", 0.0) * RATE * 4 / MB, PINNED_BLOCKS))
    sec.notes.append("MB = 10^6 bytes.")
    sec.data = {"harness": cfg.shared.get("harness_rss"), "fresh_lsp": base_runs,
                "fresh_plugin": plug_runs}
