"""Section 4: added start-up time.
"""
from __future__ import annotations

import os
import time
from typing import Any, Dict, List

from .child import FFT_ARGS
from .common import FORK_NAMES, NATIVE_CHUNK, Section, fmt, mark, median
from .env import Config, captured_plugin_log, forced_backend, load_lsp_fft, plugin_class
from .fresh import run_child, first_fork, helper_python, song_pcm, usable_backends


def section_startup(cfg: Config, sec: Section) -> None:
    kind, checkout = first_fork(cfg)
    model_path = cfg.need_model()
    pcm_path, rate, song = song_pcm(cfg)
    import numpy as np
    chunk = NATIVE_CHUNK[kind]
    pcm = np.load(pcm_path)
    first = next((i for i in range(pcm.shape[0] // chunk)
                  if pcm[i * chunk:(i + 1) * chunk].any()), 0)
    data_first = pcm[first * chunk:(first + 1) * chunk].tobytes()
    mod = load_lsp_fft(checkout, cfg.shims)
    backends = usable_backends(model_path)
    py, py_text = helper_python(cfg)
    sec.method.append(
        "In-process (this interpreter): %d fresh constructions each, interleaved, of %s's "
        "`fft.FFT` and of the plugin's class, timed from the constructor to the first level row "
        "(first non-silent chunk of `%s`, chunk %d); the plugin's includes reading the model, "
        "building the interpreter and its first chunk (its modules already imported). Import: "
        "fresh interpreters, %s, with numpy and LightShowPi's `fft.py` loaded, time importing "
        "the plugin (`host`, `pipeline` and the backend's interpreter module), median of %d. "
        "Added start-up = in-process difference + import. Cross-check: all of it cold in fresh "
        "interpreters (same Python, %d each, interleaved)." % (
            cfg.constructions, FORK_NAMES[kind], os.path.basename(song), chunk, py_text,
            cfg.fresh_runs, cfg.fresh_runs))
    rows = []
    data: Dict[str, Any] = {}
    for b, ok, why in backends:
        if not ok:
            rows.append([b, "skipped: " + why, "", "", "", "", "", ""])
            continue
        cls = plugin_class(mod.FFT, model_path)
        t_lsp: List[float] = []
        t_plug: List[float] = []
        with forced_backend(b), captured_plugin_log():
            cls(chunk, rate, *FFT_ARGS).calculate_levels(data_first)   # imports, untimed
            for _ in range(cfg.constructions):
                t0 = time.perf_counter()
                mod.FFT(chunk, rate, *FFT_ARGS).calculate_levels(data_first)
                t1 = time.perf_counter()
                inst = cls(chunk, rate, *FFT_ARGS)
                inst.calculate_levels(data_first)
                t2 = time.perf_counter()
                if inst._state != "active":
                    raise RuntimeError("plugin not active with backend %s" % b)
                t_lsp.append(t1 - t0)
                t_plug.append(t2 - t1)
        imports = [run_child({"mode": "import", "backend": b, "checkout": checkout,
                           "shims": cfg.shims}, python=py)["import_s"]
                   for _ in range(cfg.fresh_runs)]
        cold_lsp: List[float] = []
        cold_plug: List[float] = []
        params = {"mode": "startup", "checkout": checkout, "shims": cfg.shims, "pcm": pcm_path,
                  "chunk": chunk, "rate": rate, "model": model_path, "first": first}
        for _ in range(cfg.fresh_runs):
            cold_lsp.append(run_child(dict(params, which="lsp"), python=py)["startup_s"])
            res = run_child(dict(params, which="plugin"), backend=b, python=py)
            if res["state"] != "active":
                raise RuntimeError("plugin not active in the helper with backend %s" % b)
            cold_plug.append(res["startup_s"])
        ml, mp, mi = median(t_lsp), median(t_plug), median(imports)
        added = (mp - ml) + mi
        cl, cp = median(cold_lsp), median(cold_plug)
        c = sec.check("startup_s", "%s (in-process + import)" % b, added)
        c2 = sec.check("startup_s", "%s (cold, fresh interpreter)" % b, cp - cl)
        rows.append([b, fmt(ml * 1e3, 2), fmt(mp * 1e3, 2), fmt(mi * 1e3, 1),
                     fmt(added * 1e3, 1) + " " + mark(c.ok), fmt(cl * 1e3, 2), fmt(cp * 1e3, 1),
                     fmt((cp - cl) * 1e3, 1) + " " + mark(c2.ok)])
        data[b] = {"inprocess_lsp_s": t_lsp, "inprocess_plugin_s": t_plug, "import_s": imports,
                   "cold_lsp_s": cold_lsp, "cold_plugin_s": cold_plug, "added_s": added}
    sec.table(["Backend", "LightShowPi ms", "Plugin ms", "Import ms", "Added ms (≤ 300)",
               "Cold LightShowPi ms", "Cold plugin ms", "Cold added ms (≤ 300)"], rows)
    sec.data = data
