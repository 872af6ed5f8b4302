"""``python -m train bench``: the sections in order, the options, bench.md and bench.json.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .common import (DEFAULT_HARNESS, DEFAULT_HARNESS_VENVS, DEFAULT_MUSIC, Section, Skip, log,
                     render_markdown, section_json, summary_rows)
from .createcache import section_createcache
from .env import Config, machine_info, resolve
from .memory import section_memory
from .per_chunk import section_per_chunk
from .pth import section_pth
from .startup import section_startup
from .training import section_features, section_training


SECTIONS: Tuple[Tuple[str, str, Callable[[Config, Section], None]], ...] = (
    ("per_chunk", "Per-chunk cost: plugin vs LightShowPi's calculate_levels", section_per_chunk),
    ("createcache", "Whole --createcache wall time, with and without the plugin",
     section_createcache),
    ("memory", "Added resident memory", section_memory),
    ("startup", "Added start-up time", section_startup),
    ("pth", "The .pth hook's cost in an unrelated interpreter", section_pth),
    ("features", "Feature extraction speed", section_features),
    ("training", "Training time of the default model", section_training),
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lsp-ez", default=None,
                   help="original LightShowPi checkout (default $LIGHTSHOWPI_EZ or $LIGHTSHOWPI_HOME)")
    p.add_argument("--lsp-neo", default=None,
                   help="LightShowPi Neo checkout (default $LIGHTSHOWPI_NEO or $LIGHTSHOWPI_HOME)")
    p.add_argument("--harness", default=None,
                   help="LightShowPi harness folder with run_lsp.sh (default %s)" % DEFAULT_HARNESS)
    p.add_argument("--harness-venv", default=None,
                   help="venv with LightShowPi's dependencies and this plugin installed "
                        "(default $LIGHTSHOWPI_HARNESS_VENV or %s)" % ", ".join(DEFAULT_HARNESS_VENVS))
    p.add_argument("--songs", nargs="+", default=None,
                   help="audio files or folders (default %s)" % DEFAULT_MUSIC)
    p.add_argument("--cache-song", default=None,
                   help="the song for createcache, memory and start-up (default: the median-length one)")
    p.add_argument("--model", default=None, help="model to run (default: the shipped default model)")
    p.add_argument("--chunks", type=int, default=2000, help="chunks per per-chunk timing (2000)")
    p.add_argument("--block", type=int, default=50,
                   help="chunks per block, LightShowPi and the plugin alternating (50)")
    p.add_argument("--runs", type=int, default=5, help="createcache runs per configuration (5)")
    p.add_argument("--pth-runs", type=int, default=100,
                   help="`python -c pass` runs per .pth state (100)")
    p.add_argument("--constructions", type=int, default=10,
                   help="in-process FFT constructions for start-up (10)")
    p.add_argument("--fresh-runs", type=int, default=5,
                   help="fresh interpreters per start-up / memory measurement (5)")
    p.add_argument("--fit-timeout", type=float, default=1200.0, help="seconds allowed for train fit")
    p.add_argument("--skip-training", action="store_true", help="do not time train fit")
    p.add_argument("--skip-harness", action="store_true", help="do not run LightShowPi createcache")
    p.add_argument("--skip", nargs="+", default=[], metavar="SECTION",
                   choices=[key for key, _t, _f in SECTIONS],
                   help="sections not to measure: " + ", ".join(key for key, _t, _f in SECTIONS))
    p.add_argument("--out", default="out", help="folder for bench.md and bench.json (out)")


def command_line(args: argparse.Namespace, argv: Optional[Sequence[str]] = None) -> str:
    """The command as invoked (``python -m train bench ...``), else rebuilt from ``args``."""
    argv = list(sys.argv if argv is None else argv)
    if len(argv) > 1 and argv[1] == "bench" and os.path.basename(os.path.dirname(
            os.path.abspath(argv[0]))) == "train":
        return "%s -m train %s" % (shlex.quote(sys.executable), shlex.join(argv[1:]))
    parts = ["python", "-m", "train", "bench"]
    for key, value in sorted(vars(args).items()):
        if key.startswith("_") or key in ("verbose",) or value in (None, False):
            continue
        opt = "--" + key.replace("_", "-")
        if value is True:
            parts.append(opt)
        elif isinstance(value, list):
            parts += [opt] + [str(v) for v in value]
        else:
            parts += [opt, str(value)]
    return shlex.join(parts)


def run(args: argparse.Namespace) -> int:
    t_start = time.perf_counter()
    cfg = resolve(args)
    os.makedirs(cfg.out, exist_ok=True)
    report: Dict[str, Any] = {"command": command_line(args), "cwd": os.getcwd(),
                              "date": datetime.datetime.now(datetime.timezone.utc).strftime(
                                  "%Y-%m-%d %H:%M UTC")}
    report["machine"] = machine_info(cfg.venv)
    if cfg.model:
        from lightshowpi_autoencoder import modelfile
        m = modelfile.load(cfg.model)
        report["machine"]["Model"] = "%s (id %s, %d channels, %d bytes)" % (
            cfg.model, m.model_id, m.channels, len(m.tflite))
    else:
        report["machine"]["Model"] = "none: " + cfg.model_why
    sections: List[Section] = []
    with tempfile.TemporaryDirectory(prefix="lspai-bench-") as tmp:
        cfg.tmp = tmp
        if cfg.model:
            # a private copy: the model file may be rewritten (make model) while we measure
            from lightshowpi_autoencoder import modelfile
            os.makedirs(os.path.join(tmp, "model"))
            stem = os.path.join(tmp, "model", "bench")
            for src, ext in zip(modelfile.model_paths(cfg.model), (".tflite", ".json")):
                shutil.copyfile(src, stem + ext)
            cfg.model = modelfile.load(stem + ".tflite").path
        for key, title, fn in SECTIONS:
            sec = Section(key, title)
            log.info("bench: %s ...", title)
            t0 = time.perf_counter()
            try:
                if key in cfg.skip:
                    raise Skip("--skip %s" % key)
                fn(cfg, sec)
            except Skip as exc:
                sec.status, sec.reason = "skipped", str(exc)
            except Exception as exc:  # one broken section must not lose the others
                log.exception("bench: section %s failed", key)
                sec.status, sec.reason = "failed", "%s: %s" % (type(exc).__name__, exc)
            sec.data["section_seconds"] = round(time.perf_counter() - t0, 2)
            if key == "createcache" and sec.status != "ok":
                cfg.shared["createcache_status"] = sec.status_text
            log.info("bench: %s: %s (%.0f s)", key, sec.status_text, sec.data["section_seconds"])
            sections.append(sec)
    report["elapsed_s"] = time.perf_counter() - t_start
    text = render_markdown(report, sections)
    md_path = os.path.join(cfg.out, "bench.md")
    with open(md_path, "w", encoding="utf-8") as fh:
        fh.write(text)
    payload = dict(report, sections=[section_json(s) for s in sections],
                   summary=[dict(zip(["measure", "where", "value", "target", "result"], r))
                            for r in summary_rows(sections)])
    with open(os.path.join(cfg.out, "bench.json"), "w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=1, default=str)
    print(text)
    log.info("bench: wrote %s and bench.json", md_path)
    return 0
