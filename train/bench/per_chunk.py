"""Section 1: per-chunk cost of the plugin's ``calculate_levels`` against
LightShowPi's own, interleaved in one process, with the stage breakdown.

Also run in the harness venv's Python: ``python -m train.bench.per_chunk PARAMS_JSON``
prints the measurement as JSON.
"""
from __future__ import annotations

import copy
import gc
import json
import math
import os
import platform
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .child import FFT_ARGS
from .common import (FORK_NAMES, NATIVE_CHUNK, REPO, Section, Skip, TARGET_BY_KEY, fmt, mark,
                     median, ratio, target_text)
from .env import (Config, child_env, captured_plugin_log, chunks_of, decode_songs, forced_backend,
                  load_lsp_fft, plugin_class, probe_backend)


def _alternating(fa: Callable[[bytes], Any], fb: Callable[[bytes], Any],
                 chunks: Sequence[bytes], block: int) -> Tuple[List[int], List[int]]:
    """ns per call of ``fa`` and ``fb`` on each chunk: block by block, both on the same
    ``block`` chunks, which one goes first alternating (a load change hits both alike)."""
    ta: List[int] = []
    tb: List[int] = []
    clock = time.perf_counter_ns
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        for k in range(0, len(chunks), block):
            part = chunks[k:k + block]
            order = ((fa, ta), (fb, tb)) if (k // block) % 2 == 0 else ((fb, tb), (fa, ta))
            for f, times in order:
                for data in part:
                    t0 = clock()
                    f(data)
                    times.append(clock() - t0)
    finally:
        if was:
            gc.enable()
    return ta, tb


#: the rows of the stage breakdown, in the order of the per-chunk path
STAGES = (
    ("mono", "features: int16 bytes -> float64, channel sum"),
    ("frames", "features: frames x Hann window"),
    ("rfft", "features: rfft of the frames (numpy pocketfft)"),
    ("power", "features: |X|^2 summed over frames with their weights"),
    ("log", "features: silence test, normalise, clip to the training range, log10 -> float32"),
    ("bands", "band means of the frame (reduceat): the stage's onset test and memory, and a band-input encoder's input"),
    ("encoder", "encoder: whole call (%s)"),
    ("invoke", "  of which the interpreter's own work (Invoke / the dense chain)"),
    ("finite", "finite check of the units (their sum in Python floats)"),
    ("loudness", "loudness from the linear power (replaces 512 powers of 10)"),
    ("levels", "switching: standardised units, common part, loudness"),
    ("rules", "switching: ON/OFF rules (+ onset test when a light could start) -> float32"),
    ("memory", "switching: repeat memory (remember the chunk; follow a match, or look for one)"),
    ("rest", "host wrapper + pipeline glue: whole minus the stages (less ~15 timer reads)"),
    ("whole", "whole calculate_levels (the class LightShowPi calls)"),
)


def _breakdown(inst, chunks: Sequence[bytes]) -> List[Tuple[str, str, float]]:
    """Median µs of each stage of the plugin's per-chunk path, chunk by chunk in a stream.

    Mirrors ``ChunkPipeline.__call__`` (and ``ChunkFeatures.__call__``, whose buffers it
    uses) step by step, on a copy of the switching stage's state, each chunk followed by the
    plugin's own ``calculate_levels`` on it (whose time is the ``whole`` row, and minus
    the stages the ``rest`` row). Stages that do not apply (a silent chunk, a numpy
    executor's invoke) are left out of their medians.
    """
    import numpy as np
    from lightshowpi_autoencoder import feature_stream as FS
    from lightshowpi_autoencoder import features as F
    from lightshowpi_autoencoder import pipeline as P
    pipe = inst.pipeline
    fe = pipe.features           # no state between chunks: the plugin's own, its buffers
    stage = copy.deepcopy(pipe.stage)
    run = pipe.encoder._run
    invoke = getattr(run, "_invoke", None)
    chain = getattr(getattr(run, "_model", None), "_chain", None)
    times: Dict[str, List[int]] = {key: [] for key, _ in STAGES}
    clock = time.perf_counter_ns
    tensor = None
    if pipe._bands is not None:     # where a band-input model's input is written
        tensor = pipe.encoder.input_buffer()
        if tensor is None:
            tensor = pipe._input.reshape(1, -1)
    fe(chunks[0])
    plan = fe._last
    seconds = (len(chunks[0]) // 2 // pipe.channels) / pipe.audio_rate
    simple = (fe.engine is None and plan is not None and plan.channels == 2
              and plan.whole and not fe.remap)
    gc.collect()
    gc.disable()
    try:
        for data in chunks:
            t: Dict[str, int] = {}
            t0 = clock()
            if simple and len(data) == plan.nbytes:
                pcm = np.frombuffer(data, np.int16)
                np.copyto(plan.wide, pcm)
                np.add(*plan.sides, out=plan.mono)
                t1 = clock()
                np.multiply(plan.view, plan.window, out=plan.frames)
                t2 = clock()
                spec = fe._rfft(plan.frames, plan.spec)
                t3 = clock()
                v = plan.spec64 if spec is plan.spec else spec.view(np.float64)
                np.square(v, out=v)
                np.dot(plan.weights, v, out=plan.pairs)
                np.add(*plan.re_im, out=fe.power)
                t4 = clock()
                total = fe.power
                if total[0] == 0.0 and not total.any():
                    inst.calculate_levels(data)
                    continue
                total *= plan.factor
                total += F.EPS
                if fe._bounds is not None:
                    FS._CLIP(total, fe._bounds[0], fe._bounds[1], out=total)
                x = fe._x
                np.log10(total, out=x, casting="same_kind")
                t5 = clock()
                t.update(mono=t1 - t0, frames=t2 - t1, rfft=t3 - t2, power=t4 - t3, log=t5 - t4)
            else:
                x = fe(data)
                t5 = clock()
                if x is None:
                    inst.calculate_levels(data)
                    continue
                t["log"] = t5 - t0
            t6 = clock()
            if pipe._bands is not None:
                # a band-input model: the band means first (the stage's own when it takes
                # the same bands), copied into the encoder's input
                np.copyto(pipe._input, stage.listen(x) if pipe._listens else pipe._bands(x),
                          casting="same_kind")
                t["bands"] = clock() - t6
                t6 = clock()
                z = pipe.encoder.run_float32(tensor)
            else:
                z = pipe.encoder.run_float32(fe.frame)
            t7 = clock()
            if invoke is not None:
                invoke()
                t["invoke"] = clock() - t7
            elif chain is not None:
                t70 = clock()
                for inp, Wa, act, out in chain[0]:
                    np.dot(inp, Wa, out=out)
                    if act is not None:
                        act(out, out)
                t["invoke"] = clock() - t70
            t8 = clock()
            P._finite(z)
            t9 = clock()
            t.update(encoder=t7 - t6, finite=t9 - t8)
            if stage is not None:
                # as ChunkPipeline._loudness (the power is clipped with the frame)
                loud = math.log10(np.add.reduce(fe.power_ac))
                t10 = clock()
                v = stage.levels(z, loud)
                if stage._exact is not None and stage.near_line(v, stage._margin):
                    v = stage.levels(z, stage._exact(x))
                t11 = clock()
                if not pipe._listens:     # the stage's own bands, not taken before the encoder
                    stage.listen(x)
                    t["bands"] = t.get("bands", 0) + clock() - t11
                t12 = clock()
                prev = stage._prev
                row = np.array(stage.step(v, lambda: stage._rose(prev), seconds), np.float32)
                t13 = clock()
                t.update(loudness=t10 - t9, levels=t11 - t10, rules=t13 - t12)
                if stage.memory is not None:
                    stage.memory(stage._x, row, seconds)
                    t.update(memory=clock() - t13)
            t15 = clock()
            inst.calculate_levels(data)
            whole = clock() - t15
            t["whole"] = whole
            t["rest"] = whole - sum(v_ for k, v_ in t.items() if k not in ("whole", "invoke"))
            for key, value in t.items():
                times[key].append(value)
    finally:
        gc.enable()
    backend = pipe.encoder.backend
    return [(key, label % backend if "%s" in label else label, (median(times[key]) or 0.0) / 1e3)
            for key, label in STAGES if times[key]]


BACKENDS_TRIED = ("litert", "tflite_runtime", "numpy")
TFLITE_BACKENDS = ("litert", "tflite_runtime", "tensorflow")


def measure_per_chunk(forks: Sequence[Tuple[str, str]], shims: Optional[str], model_path: str,
                      pcms: Sequence[Any], rate: int, n: int, block: int = 50, warmup: int = 100,
                      breakdown_chunks: int = 1000) -> Dict[str, Any]:
    """The per-chunk measurement, in this process (also run in the harness venv's Python).

    :returns: ``{"backends": {name: [ok, why]}, "rows": [...], "breakdown": {chunk: ...},
        "numpy": version, "python": version}``; each row has fork, chunk, backend, status
        (ok/skipped/failed), reason and, when ok, ``lsp_ns`` / ``plugin_ns`` (per call, in
        the order measured), ``warmup_ns`` and the load average before and after.
    """
    import numpy
    from lightshowpi_autoencoder import modelfile
    model = modelfile.load(model_path)
    backends = [(name,) + probe_backend(name, model) for name in BACKENDS_TRIED]
    result: Dict[str, Any] = {"numpy": numpy.__version__, "python": platform.python_version(),
                              "backends": {b: [ok, why] for b, ok, why in backends},
                              "rows": [], "breakdown": {}}
    chunk_sets = {chunk: chunks_of(pcms, chunk, n) for chunk in (2048, 4096)}
    for kind, checkout in forks:
        try:
            mod = load_lsp_fft(checkout, shims)
        except Exception as exc:
            result["rows"].append({"fork": kind, "chunk": None, "backend": None,
                                   "status": "failed", "reason": str(exc)})
            continue
        for chunk, chunks in chunk_sets.items():
            native = NATIVE_CHUNK.get(kind) == chunk
            for name, ok, why in backends:
                row: Dict[str, Any] = {"fork": kind, "chunk": chunk, "backend": name,
                                       "status": "ok", "reason": ""}
                result["rows"].append(row)
                if not ok:
                    row.update(status="skipped", reason=why)
                    continue
                if len(chunks) < 2 * block:
                    row.update(status="skipped", reason="only %d chunks of audio" % len(chunks))
                    continue
                base = mod.FFT(chunk, rate, *FFT_ARGS)
                with forced_backend(name), captured_plugin_log() as msgs:
                    plug = plugin_class(mod.FFT, model_path)(chunk, rate, *FFT_ARGS)
                    warm = _alternating(base.calculate_levels, plug.calculate_levels,
                                        chunks[:warmup], block)
                    if plug._state != "active" or plug.pipeline.encoder.backend != name:
                        row.update(status="failed", reason="plugin not active (%s)"
                                   % " / ".join(msgs[-2:]))
                        continue
                    load0 = os.getloadavg()[0]
                    ta, tb = _alternating(base.calculate_levels, plug.calculate_levels, chunks,
                                          block)
                    load1 = os.getloadavg()[0]
                    if native and str(chunk) not in result["breakdown"]:
                        parts = _breakdown(plug, chunks[:breakdown_chunks])
                        result["breakdown"][str(chunk)] = {
                            "backend": name, "fork": kind, "stages": [list(p) for p in parts],
                            "load": os.getloadavg()[0]}
                if plug._state != "active":
                    row.update(status="failed", reason="plugin fell back during the run (%s)"
                               % " / ".join(msgs[-2:]))
                    continue
                row.update(lsp_ns=ta, plugin_ns=tb, warmup_ns=list(warm), block=block,
                           load=[load0, load1])
    return result


def _pyperf_benchmarks(r: Dict[str, Any], where: str, meta: Dict[str, Any]):
    """The row's two series as pyperf benchmarks (seconds per call): LightShowPi's, the plugin's."""
    import pyperf
    out = []
    for who, key, warm in (("LightShowPi", "lsp_ns", 0), ("plugin", "plugin_ns", 1)):
        name = "%s, chunk %d, %s, %s: %s" % (FORK_NAMES.get(r["fork"], r["fork"]), r["chunk"],
                                            r["backend"], where, who)
        metadata = dict(meta, name=name, unit="second", loops=1,
                        load_average_1min="%.2f -> %.2f" % tuple(r["load"]),
                        description="calculate_levels, one call per value, blocks of %d chunks "
                                    "alternated with the other series" % r["block"])
        run = pyperf.Run([v / 1e9 for v in r[key]], metadata=metadata, collect_metadata=False,
                         warmups=[(1, v / 1e9) for v in r["warmup_ns"][warm]])
        out.append(pyperf.Benchmark([run]))
    return out


def _per_chunk_rows(sec: Section, res: Dict[str, Any], where: str, suite: List[Any]
                    ) -> List[List[Any]]:
    rows = []
    meta = {"python_version": res["python"], "numpy": res["numpy"]}
    for r in res["rows"]:
        fork = FORK_NAMES.get(r["fork"], r["fork"])
        head = [fork, r["chunk"] or "", r["backend"] or ""]
        if r["status"] != "ok":
            rows.append(head + ["", "", "", "", "", "", "%s: %s" % (r["status"], r["reason"])])
            continue
        lsp, plug = _pyperf_benchmarks(r, where, meta)
        suite += [lsp, plug]
        ma, mb = lsp.median(), plug.median()
        r.update(lsp_median_us=ma * 1e6, plugin_median_us=mb * 1e6, ratio=ratio(mb, ma),
                 plugin_p90_us=plug.percentile(90) * 1e6)
        native = NATIVE_CHUNK.get(r["fork"]) == r["chunk"]
        key = "chunk_ratio" if r["backend"] in TFLITE_BACKENDS else "chunk_ratio_numpy"
        label = "%s, chunk %d, %s, %s" % (fork, r["chunk"], r["backend"], where)
        c = sec.check(key, label, r["ratio"], summary=native)
        rows.append(head + [fmt(ma * 1e6, 1), fmt(mb * 1e6, 1), fmt(r["plugin_p90_us"], 1),
                            fmt(r["ratio"], 3), target_text(TARGET_BY_KEY[key]), mark(c.ok),
                            "%.1f-%.1f" % tuple(r["load"])])
    return rows


def section_per_chunk(cfg: Config, sec: Section) -> None:
    forks = cfg.forks()
    if not forks:
        raise Skip(cfg.no_forks_reason())
    model_path = cfg.need_model()
    songs = cfg.need_songs()
    pcms, rate, names = decode_songs(songs, 4096 * cfg.chunks)
    sec.method.append(
        "One process. LightShowPi's real `py/fft.py` from each checkout, "
        "`fft.FFT(chunk, %d, 8, 20, 15000, 0, 0, 2, False)` (its numpy path), against "
        "`host.make_class(fft.FFT)` -- the class LightShowPi gets -- with the plugin enabled on "
        "the model above, backend forced with `LSPAI_BACKEND`. Both get the same chunks, the "
        "first %d whole ones of each size (interleaved int16 bytes as LightShowPi reads them, decoded with soundfile from %s), "
        "in blocks of %d: a block through one, the same block through the other, which goes "
        "first alternating block by block; gc off, `time.perf_counter_ns` around each call, "
        "after 100 warm-up chunks each. Ratio = median plugin / median LightShowPi "
        "(statistics by pyperf; every value is in `per-chunk.pyperf.json` beside this file: "
        "`python -m pyperf stats|hist|compare_to` read it). Measured twice: in this Python and "
        "in the harness venv's (LightShowPi's own numpy; the repository's plugin code via "
        "sys.path). Load = the 1-minute load average before and after the row (2 cores)."
        % (rate, cfg.chunks, ", ".join(names), cfg.block))
    res = measure_per_chunk(forks, cfg.shims, model_path, pcms, rate, cfg.chunks, cfg.block)
    where = "Python %s, numpy %s" % (res["python"], res["numpy"])
    headers = ["Fork (fft.py)", "Chunk", "Backend", "LightShowPi µs", "Plugin µs",
               "Plugin p90 µs", "Ratio", "Target", "Result", "Load"]
    suite: List[Any] = []
    sec.table(headers, _per_chunk_rows(sec, res, "bench venv", suite),
              "This interpreter (%s, `%s`):" % (where, sys.executable))
    data: Dict[str, Any] = {"songs": names, "bench": res}
    other = None
    if cfg.venv:
        import numpy as np
        paths = []
        for i, pcm in enumerate(pcms):
            path = os.path.join(cfg.tmp, "per-chunk-%d.npy" % i)
            np.save(path, pcm)
            paths.append(path)
        params = {"forks": forks, "shims": cfg.shims, "model": model_path, "pcms": paths,
                  "rate": rate, "n": cfg.chunks, "block": cfg.block}
        py = os.path.join(cfg.venv, "bin", "python")
        # this repository's code first on the path (cwd and PYTHONPATH): its plugin, its bench
        r = subprocess.run([py, "-m", "train.bench.per_chunk", json.dumps(params)],
                           capture_output=True, text=True, env=child_env(), cwd=REPO,
                           timeout=1800)
        if r.returncode == 0:
            other = json.loads(r.stdout.strip().splitlines()[-1])
            where2 = "Python %s, numpy %s" % (other["python"], other["numpy"])
            sec.table(headers, _per_chunk_rows(sec, other, "harness venv", suite),
                      "The harness venv (%s, `%s`), as LightShowPi runs in section 2:"
                      % (where2, py))
            data["harness_venv"] = other
        else:
            sec.notes.append("harness venv rows failed: %s"
                             % (r.stderr.strip().splitlines() or ["exit %d" % r.returncode])[-1])
    else:
        sec.notes.append("harness venv rows skipped: " + cfg.venv_why)
    if suite:
        import pyperf
        path = os.path.join(cfg.out, "per-chunk.pyperf.json")
        pyperf.BenchmarkSuite(suite).dump(path, replace=True)
        sec.notes.append("Every per-call time: `%s` (pyperf)." % os.path.relpath(path, REPO)
                         if path.startswith(REPO + os.sep) else "Every per-call time: `%s`." % path)
    for name, (ok, why) in res["backends"].items():
        if not ok:
            sec.notes.append("backend %s skipped: %s" % (name, why))
    for chunk, bd in sorted(res["breakdown"].items(), key=lambda kv: int(kv[0])):
        other_bd = (other or {}).get("breakdown", {}).get(chunk) or {}
        other_us = {k: us for k, _l, us in other_bd.get("stages", [])}
        whole = dict((k, us) for k, _l, us in bd["stages"]).get("whole") or 0.0
        brows = []
        for key, label, us in bd["stages"]:
            share = ("" if key in ("whole", "invoke") or not whole
                     else fmt(100.0 * us / whole, 0, "%"))
            row = [label, fmt(us, 1), share]
            if other_bd:
                row.append(fmt(other_us.get(key), 1))
            brows.append(row)
        head = ["Stage", "Median µs", "Share"] + (
            ["Harness venv µs (%s)" % other_bd.get("backend")] if other_bd else [])
        sec.table(head, brows, "Where the plugin's time goes: %s, chunk %s, backend %s, in this "
                  "interpreter (load %.1f); each stage timed chunk by chunk in a stream of %s "
                  "chunks, medians (so they do not add up exactly):"
                  % (FORK_NAMES.get(bd["fork"], bd["fork"]), chunk, bd["backend"], bd["load"],
                     "1000"))
    sec.notes.append("Summary rows: each fork at its own chunk size (EZ 2048, Neo 4096); the "
                     "other sizes are in the tables above.")
    sec.data = data


def main(argv: Sequence[str]) -> int:
    """:func:`measure_per_chunk` in another interpreter (the harness venv's): the
    parameters as JSON in ``argv[0]``, the result as JSON on stdout."""
    import numpy as np
    p = json.loads(argv[0])
    pcms = [np.load(path) for path in p["pcms"]]
    res = measure_per_chunk([tuple(f) for f in p["forks"]], p["shims"], p["model"], pcms,
                            p["rate"], p["n"], p["block"])
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
