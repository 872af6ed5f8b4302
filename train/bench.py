"""``python -m train bench``: runtime and training benchmarks as one markdown table.

    python -m train bench [--lsp-ez DIR] [--lsp-neo DIR] [--harness DIR] [--harness-venv DIR]
                          [--songs ...] [--chunks N] [--skip-training] [--out out/]

writes ``OUT/bench.md`` (and the raw numbers as ``OUT/bench.json``) and prints
the markdown. Sections, each measured only when what it needs is there and
otherwise reported as ``skipped: <reason>``:

1. per-chunk cost of the plugin's ``calculate_levels`` against LightShowPi's
   own numpy ``calculate_levels`` (the checkout's real ``py/fft.py``), on the
   same chunks in one process, interleaved, per chunk size and backend, with a
   breakdown of where the plugin's time goes;
2. whole ``--createcache`` wall time with and without the plugin, through the
   LightShowPi harness (``run_lsp.sh``), both forks, runs interleaved;
3. added resident memory (peak RSS of the LightShowPi process from those runs,
   and of two fresh interpreters processing a song);
4. added start-up time (FFT construction to first level row, plus the import
   time of the plugin in a fresh interpreter);
5. the ``.pth`` hook's cost in an unrelated interpreter (a throw-away venv with
   and without the hook);
6. feature extraction speed (x real time) over the songs;
7. training time of the default model (``python -m train fit``).

No number here is a test: timings depend on the machine, so the file records
the machine, the versions and the command next to them.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import datetime
import gc
import json
import logging
import math
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

log = logging.getLogger("train.bench")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_HARNESS = os.path.normpath(os.path.join(REPO, "..", "shared", "lightshowpi-harness"))
DEFAULT_MUSIC = os.path.normpath(os.path.join(REPO, "..", "shared", "music"))
#: the venv convention of the harness README (/tmp/lsp/venv) plus the plugin
DEFAULT_HARNESS_VENVS = ("/tmp/lsp/venv-plugin",)
RATE = 44100
#: LightShowPi's defaults: gpio_len 8, 20 Hz .. 15 kHz, no custom mapping, stereo files
FFT_ARGS = (8, 20, 15000, 0, 0, 2, False)
NATIVE_CHUNK = {"ez": 2048, "neo": 4096}
FORK_NAMES = {"ez": "EZ (original)", "neo": "Neo"}
MB = 1e6

# ---------------------------------------------------------------- targets

@dataclass(frozen=True)
class Target:
    key: str
    label: str
    op: str          # "<=" or ">="
    value: float
    unit: str
    section: str


TARGETS: Tuple[Target, ...] = (
    Target("chunk_ratio", "Per-chunk cost, plugin / LightShowPi (medians), TFLite interpreter",
           "<=", 0.6, "x", "per_chunk"),
    Target("chunk_ratio_numpy", "Per-chunk cost, plugin / LightShowPi (medians), numpy executor",
           "<=", 1.0, "x", "per_chunk"),
    Target("createcache_ratio", "--createcache wall time, with / without plugin", "<=", 1.15,
           "x", "createcache"),
    Target("rss_mb", "Added resident memory", "<=", 25.0, "MB", "memory"),
    Target("startup_s", "Added start-up time", "<=", 0.3, "s", "startup"),
    Target("pth_ms", ".pth hook cost in an unrelated interpreter", "<=", 2.0, "ms", "pth"),
    Target("features_x", "Feature extraction speed", ">=", 200.0, "x real time", "features"),
    Target("fit_s", "Default model training time (the shared songs)", "<=", 180.0, "s", "training"),
)
TARGET_BY_KEY = {t.key: t for t in TARGETS}

# ---------------------------------------------------------------- pure helpers


def median(values: Iterable[Optional[float]]) -> Optional[float]:
    """Median of the values that are not None; None when there are none."""
    vals = [float(v) for v in values if v is not None]
    return statistics.median(vals) if vals else None


def ratio(num: Optional[float], den: Optional[float]) -> Optional[float]:
    """``num / den``; None when either is missing or ``den`` is 0."""
    if num is None or den is None or den == 0:
        return None
    return float(num) / float(den)


def diff(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return None if a is None or b is None else float(a) - float(b)


def fmt(value: Optional[float], digits: int = 2, unit: str = "") -> str:
    """A number for the table: ``—`` when missing, else rounded, with an optional unit."""
    if value is None:
        return "—"
    text = "%.*f" % (digits, value)
    return text + (" " + unit if unit else "")


def passes(value: Optional[float], op: str, target: float) -> Optional[bool]:
    if value is None:
        return None
    if op == "<=":
        return value <= target
    if op == ">=":
        return value >= target
    raise ValueError("unknown comparison %r" % op)


def mark(ok: Optional[bool]) -> str:
    return "—" if ok is None else ("PASS" if ok else "FAIL")


def target_text(t: Target) -> str:
    return "%s %g %s" % ("≤" if t.op == "<=" else "≥", t.value, t.unit)


def md_escape(cell: Any) -> str:
    return str(cell).replace("|", "\\|").replace("\n", " ")


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(md_escape(h) for h in headers) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        cells = [md_escape(c) for c in row] + [""] * (len(headers) - len(row))
        lines.append("| " + " | ".join(cells[:len(headers)]) + " |")
    return "\n".join(lines)


class Skip(Exception):
    """Raised by a section that lacks what it needs; the message is the reason."""


@dataclass
class Check:
    target: str        # Target.key
    label: str         # which measurement (e.g. "EZ, chunk 2048, litert")
    value: Optional[float]
    ok: Optional[bool] = None
    note: str = ""
    summary: bool = True      # listed in the summary table (else only in its section)

    def __post_init__(self) -> None:
        t = TARGET_BY_KEY[self.target]
        if self.ok is None:
            self.ok = passes(self.value, t.op, t.value)


@dataclass
class Section:
    key: str
    title: str
    status: str = "ok"            # ok | skipped | failed
    reason: str = ""
    method: List[str] = field(default_factory=list)
    tables: List[Dict[str, Any]] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    checks: List[Check] = field(default_factory=list)
    data: Dict[str, Any] = field(default_factory=dict)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = "") -> None:
        self.tables.append({"caption": caption, "headers": list(headers),
                            "rows": [list(r) for r in rows]})

    def check(self, target: str, label: str, value: Optional[float], note: str = "",
              summary: bool = True) -> Check:
        c = Check(target, label, value, note=note, summary=summary)
        self.checks.append(c)
        return c

    @property
    def status_text(self) -> str:
        return "ok" if self.status == "ok" else "%s: %s" % (self.status, self.reason)


def summary_rows(sections: Sequence[Section]) -> List[List[str]]:
    """One row per check, and a ``skipped: reason`` row for each target nobody measured."""
    by_key = {s.key: s for s in sections}
    rows = []
    for t in TARGETS:
        every = [c for s in sections for c in s.checks if c.target == t.key]
        checks = [c for c in every if c.summary] or every
        if not checks:
            sec = by_key.get(t.section)
            why = sec.status_text if sec is not None and sec.status != "ok" else "not measured"
            rows.append([t.label, "", why, target_text(t), "—"])
            continue
        for c in checks:
            digits = 3 if t.unit in ("x", "s") else (1 if t.unit != "ms" else 2)
            value = fmt(c.value, digits, t.unit) if c.value is not None else c.note or "—"
            rows.append([t.label, c.label, value, target_text(t), mark(c.ok)])
    return rows


def render_markdown(report: Dict[str, Any], sections: Sequence[Section]) -> str:
    """The whole bench.md."""
    out = ["# lightshowpi-autoencoder benchmark", "",
           "Command (run from the repository root, `%s`):" % report.get("cwd", REPO), "",
           "```", report["command"], "```", "",
           "Generated %s in %.0f s. Raw numbers: `bench.json` beside this file. "
           "Timings are medians; they depend on the machine below." % (
               report.get("date", ""), report.get("elapsed_s", 0.0)), "",
           "## Summary: targets", "",
           md_table(["Measure", "Where", "Value", "Target", "Result"], summary_rows(sections)), "",
           "## Machine and versions", "",
           md_table(["", ""], [[k, v] for k, v in report.get("machine", {}).items()]), ""]
    for i, sec in enumerate(sections, 1):
        out += ["## %d. %s" % (i, sec.title), ""]
        if sec.status != "ok":
            out += ["%s: %s" % (sec.status, sec.reason), ""]
        for line in sec.method:
            out += [line, ""]
        for tab in sec.tables:
            if tab["caption"]:
                out += [tab["caption"], ""]
            out += [md_table(tab["headers"], tab["rows"]), ""]
        for note in sec.notes:
            out += ["", note, ""] if note.startswith("```") else ["- " + note]
        if sec.notes:
            out.append("")
    text = "\n".join(out).rstrip() + "\n"
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text


def section_json(sec: Section) -> Dict[str, Any]:
    d = asdict(sec)
    return d


# ---------------------------------------------------------------- environment

def fork_of(checkout: str) -> Optional[str]:
    """``"ez"`` or ``"neo"`` for a LightShowPi checkout (by its fft.py), None if it is not one."""
    path = os.path.join(checkout, "py", "fft.py")
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return None
    return "ez" if "from rpi_audio_levels import" in text else "neo"


def resolve_checkouts(ez: Optional[str], neo: Optional[str],
                      env: Optional[Dict[str, str]] = None) -> Dict[str, Tuple[Optional[str], str]]:
    """``{"ez": (path or None, why), "neo": ...}`` from the options, then
    ``LIGHTSHOWPI_EZ`` / ``LIGHTSHOWPI_NEO``, then ``LIGHTSHOWPI_HOME`` (by its fork)."""
    env = os.environ if env is None else env
    given = {"ez": ez or env.get("LIGHTSHOWPI_EZ"), "neo": neo or env.get("LIGHTSHOWPI_NEO")}
    home = env.get("LIGHTSHOWPI_HOME")
    if home:
        kind = fork_of(home)
        if kind and not given[kind]:
            given[kind] = home
    out: Dict[str, Tuple[Optional[str], str]] = {}
    for kind in ("ez", "neo"):
        path = given[kind]
        opt = "--lsp-%s / LIGHTSHOWPI_%s / LIGHTSHOWPI_HOME" % (kind, kind.upper())
        if not path:
            out[kind] = (None, "no %s checkout given (%s)" % (FORK_NAMES[kind], opt))
        elif not os.path.isfile(os.path.join(path, "py", "fft.py")):
            out[kind] = (None, "%s is not a LightShowPi checkout (no py/fft.py)" % path)
        else:
            out[kind] = (os.path.abspath(path), "")
    return out


def expand_songs(items: Sequence[str]) -> List[str]:
    """Existing audio files among ``items`` (folders expanded), absolute, sorted."""
    from .show.audio import list_songs
    return sorted(dict.fromkeys(os.path.abspath(p) for p in list_songs(items) if os.path.isfile(p)))


def load_lsp_fft(checkout: str, shims: Optional[str] = None, name: Optional[str] = None):
    """Import a checkout's real ``py/fft.py`` as module ``name`` (registered in sys.modules).

    EZ's fft.py does ``from rpi_audio_levels import AudioLevels`` at the top:
    off a Pi that is the harness's numpy stand-in in ``shims/`` (appended to
    sys.path, as the harness does, so a real module would win).
    """
    import importlib.util
    path = os.path.join(checkout, "py", "fft.py")
    name = name or "lsp_fft_%s" % (fork_of(checkout) or "x")
    if shims and os.path.isdir(shims) and shims not in sys.path:
        sys.path.append(shims)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError("cannot load %s" % path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except ImportError as exc:
        del sys.modules[name]
        raise ImportError("%s: %s (EZ needs the harness's shims/ for rpi_audio_levels: --harness)"
                          % (path, exc)) from None
    return module


def plugin_class(base: type, model_path: str) -> type:
    """``host.make_class(base)`` with the plugin enabled on ``model_path``."""
    from lightshowpi_autoencoder import host
    from lightshowpi_autoencoder.settings import Settings
    settings = Settings(enabled=True, model=model_path, source="bench")
    return host.make_class(base, settings_reader=lambda: settings)


@contextlib.contextmanager
def forced_backend(name: Optional[str]):
    old = os.environ.get("LSPAI_BACKEND")
    if name:
        os.environ["LSPAI_BACKEND"] = name
    else:
        os.environ.pop("LSPAI_BACKEND", None)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("LSPAI_BACKEND", None)
        else:
            os.environ["LSPAI_BACKEND"] = old


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def captured_plugin_log():
    """Keep the plugin's log lines (one per construction) off the console, but keep them."""
    logger = logging.getLogger("lightshowpi_autoencoder")
    handler = _ListHandler()
    old = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = old


def probe_backend(name: str, model) -> Tuple[bool, str]:
    """Can ``name`` run ``model`` here? ``(True, "")`` or ``(False, reason)``."""
    if name == "numpy":
        try:
            import lightshowpi_autoencoder.tflite_numpy  # noqa: F401
        except Exception as exc:
            return False, "lightshowpi_autoencoder.tflite_numpy not importable (%s: %s)" % (
                type(exc).__name__, exc)
    from lightshowpi_autoencoder.encoder import Encoder
    try:
        with captured_plugin_log():
            enc = Encoder(model, name)
    except Exception as exc:
        msg = str(exc)
        if "not installed" in msg:
            return False, "%s not installed" % name
        return False, msg
    if enc.backend != name:
        return False, "got backend %s" % enc.backend
    return True, ""


def package_version(dist: str) -> Optional[str]:
    try:
        from importlib.metadata import version
        return version(dist)
    except Exception:
        return None


def _run(cmd: Sequence[str], timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, **kw)


def git_commit() -> str:
    try:
        head = _run(["git", "-C", REPO, "rev-parse", "--short=12", "HEAD"]).stdout.strip()
        dirty = _run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"]).stdout.strip()
        return head + (" (+ uncommitted changes)" if dirty else "") if head else "unknown"
    except Exception as exc:
        return "unknown (%s)" % exc


def machine_info(venv: Optional[str]) -> Dict[str, str]:
    cpu = "unknown"
    mem = ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    mem = "%.1f GB" % (int(line.split()[1]) * 1024 / 1e9)
                    break
    except OSError:
        cpu = platform.processor() or cpu
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    os_name = platform.platform()
    try:
        with open("/etc/os-release") as fh:
            for line in fh:
                if line.startswith("PRETTY_NAME="):
                    os_name = "%s (kernel %s)" % (line.split("=", 1)[1].strip().strip('"'),
                                                  platform.release())
    except OSError:
        pass
    import numpy
    info = {
        "CPU": "%s, %s (%d usable cores)" % (cpu, platform.machine(), usable),
        "Memory": mem or "unknown",
        "OS": os_name,
        "Python (this process)":
            "%s (%s)" % (platform.python_version(), sys.executable),
        "numpy": numpy.__version__,
        "ai-edge-litert": package_version("ai-edge-litert") or "not installed",
        "tflite-runtime": package_version("tflite-runtime") or "not installed",
        "tensorflow": (package_version("tensorflow") or package_version("tensorflow-cpu")
                       or "not installed"),
        "soundfile": package_version("soundfile") or "not installed",
        "Date (UTC)": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "Git commit": git_commit(),
    }
    if venv:
        py = os.path.join(venv, "bin", "python")
        try:
            r = _run([py, "-c", "import platform, numpy\nfrom importlib.metadata import version\n"
                      "try: v = version('ai-edge-litert')\nexcept Exception: v = 'not installed'\n"
                      "print(platform.python_version(), numpy.__version__, v)"],
                     env=_clean_env())
            pyv, npv, lv = r.stdout.split()
            info["Harness venv (createcache runs)"] = "%s: Python %s, numpy %s, ai-edge-litert %s" % (
                venv, pyv, npv, lv)
        except Exception as exc:
            info["Harness venv (createcache runs)"] = "%s: unreadable (%s)" % (venv, exc)
    return info


def _clean_env(**extra: str) -> Dict[str, str]:
    env = dict(os.environ)
    for key in ("SYNCHRONIZED_LIGHTS_HOME", "LSPAI_BACKEND", "PYTHONSTARTUP"):
        env.pop(key, None)
    env.update(extra)
    return env


def _child_env(**extra: str) -> Dict[str, str]:
    """Environment of a fresh helper interpreter that imports this repository's code."""
    env = _clean_env(**extra)
    env["PYTHONPATH"] = REPO + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


# ---------------------------------------------------------------- context

@dataclass
class Config:
    checkouts: Dict[str, Tuple[Optional[str], str]]
    harness: Optional[str]
    harness_why: str
    venv: Optional[str]
    venv_why: str
    songs: List[str]
    songs_why: str
    model: Optional[str]
    model_why: str
    chunks: int
    block: int
    runs: int
    pth_runs: int
    constructions: int
    fresh_runs: int
    cache_song: Optional[str]
    skip_training: bool
    skip_harness: bool
    skip: List[str]
    fit_timeout: float
    out: str
    tmp: str = ""
    shared: Dict[str, Any] = field(default_factory=dict)

    @property
    def shims(self) -> Optional[str]:
        return os.path.join(self.harness, "shims") if self.harness else None

    def forks(self) -> List[Tuple[str, str]]:
        return [(k, p) for k, (p, _why) in self.checkouts.items() if p]

    def no_forks_reason(self) -> str:
        return "; ".join(why for _p, why in self.checkouts.values())

    def need_model(self) -> str:
        if not self.model:
            raise Skip(self.model_why)
        return self.model

    def need_songs(self) -> List[str]:
        if not self.songs:
            raise Skip(self.songs_why)
        return self.songs


def resolve(args: argparse.Namespace) -> Config:
    checkouts = resolve_checkouts(args.lsp_ez, args.lsp_neo)
    harness = args.harness or os.environ.get("LIGHTSHOWPI_HARNESS") or DEFAULT_HARNESS
    harness_why = ""
    if not os.path.isfile(os.path.join(harness, "run_lsp.sh")):
        harness_why = "no LightShowPi harness at %s (--harness DIR with run_lsp.sh)" % harness
        harness = None
    else:
        harness = os.path.abspath(harness)
    venv = args.harness_venv or os.environ.get("LIGHTSHOWPI_HARNESS_VENV")
    if not venv:
        venv = next((v for v in DEFAULT_HARNESS_VENVS if os.path.isdir(v)), None)
    venv_why = ""
    if not venv:
        venv_why = ("no harness venv with the plugin installed (--harness-venv DIR or "
                    "LIGHTSHOWPI_HARNESS_VENV; tried %s)" % ", ".join(DEFAULT_HARNESS_VENVS))
    elif not os.path.isfile(os.path.join(venv, "bin", "python")):
        venv_why = "harness venv %s has no bin/python" % venv
        venv = None
    song_items = args.songs or [DEFAULT_MUSIC]
    songs = expand_songs(song_items)
    songs_why = "" if songs else "no songs in %s (--songs FILES or FOLDERS)" % " ".join(song_items)
    model = args.model
    if not model:
        from lightshowpi_autoencoder import modelfile
        model = modelfile.default_model_path()
    model_why = ""
    try:
        from lightshowpi_autoencoder import modelfile
        model = modelfile.load(model).path
    except Exception as exc:
        model_why = "no usable model (%s; train one with `make model` or pass --model)" % exc
        model = None
    cache_song = args.cache_song
    if cache_song and not os.path.isfile(cache_song):
        raise SystemExit("bench: --cache-song %s: no such file" % cache_song)
    return Config(checkouts=checkouts, harness=harness, harness_why=harness_why, venv=venv,
                  venv_why=venv_why, songs=songs, songs_why=songs_why, model=model,
                  model_why=model_why, chunks=max(10, args.chunks),
                  block=max(1, getattr(args, "block", 50)), runs=max(1, args.runs),
                  pth_runs=max(2, args.pth_runs), constructions=max(1, args.constructions),
                  fresh_runs=max(1, args.fresh_runs), cache_song=cache_song,
                  skip_training=args.skip_training, skip_harness=args.skip_harness,
                  skip=list(getattr(args, "skip", None) or []),
                  fit_timeout=args.fit_timeout, out=args.out)


def decode_songs(songs: Sequence[str], frames: int) -> Tuple[List[Any], int, List[str]]:
    """Decode songs in order until ``frames`` frames: ``(int16 arrays, rate, names)``."""
    from .show.audio import decode
    pcms: List[Any] = []
    used: List[str] = []
    rate = RATE
    total = 0
    for path in songs:
        pcm, rate = decode(path)
        pcms.append(pcm)
        used.append(os.path.basename(path))
        total += pcm.shape[0]
        if total >= frames:
            break
    return pcms, rate, used


def chunks_of(pcms: Sequence[Any], chunk: int, n: int) -> List[bytes]:
    """The first ``n`` whole chunks (none straddles two songs) as interleaved int16 bytes."""
    out: List[bytes] = []
    for pcm in pcms:
        for i in range(pcm.shape[0] // chunk):
            out.append(pcm[i * chunk:(i + 1) * chunk].tobytes())
            if len(out) >= n:
                return out
    return out


# ---------------------------------------------------------------- 1. per-chunk

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
    ("mono", "features: int16 bytes -> float64 channel sum"),
    ("frames", "features: frames x Hann window"),
    ("rfft", "features: rfft of the frames (numpy pocketfft)"),
    ("power", "features: |X|^2 summed over frames with their weights"),
    ("log", "features: silence test, normalise, log10 -> float32"),
    ("clip", "clip to the training range"),
    ("encoder", "encoder: whole call (%s)"),
    ("invoke", "  of which the interpreter's own work (Invoke / the dense chain)"),
    ("finite", "finite check of the units (z . z)"),
    ("loudness", "loudness from the linear power (replaces 512 powers of 10)"),
    ("levels", "switching: standardised units, common part, loudness"),
    ("bands", "switching: band means of the frame (reduceat)"),
    ("rules", "switching: ON/OFF rules (+ onset test when a light could start) -> float32"),
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
    fe(chunks[0])
    plan = fe._last
    seconds = (len(chunks[0]) // 2 // pipe.channels) / pipe.audio_rate
    simple = (fe.engine is None and plan is not None and plan.pcm64 is not None
              and plan.whole and not fe.remap)
    gc.collect()
    gc.disable()
    try:
        for data in chunks:
            t: Dict[str, int] = {}
            t0 = clock()
            if simple and len(data) == plan.nbytes:
                pcm = np.frombuffer(data, np.int16)
                plan.pcm64[:] = pcm
                np.add(plan.pcm64[0::2], plan.pcm64[1::2], out=plan.mono)
                t1 = clock()
                np.multiply(plan.view, plan.window, out=plan.frames)
                t2 = clock()
                spec = fe._rfft(plan.frames, plan.spec)
                t3 = clock()
                v = plan.spec64 if spec is plan.spec else spec.view(np.float64)
                np.square(v, out=v)
                pairs = np.dot(plan.weights, v, out=plan.pairs)
                np.add(pairs[0::2], pairs[1::2], out=fe.power)
                t4 = clock()
                total = fe.power
                if total[0] == 0.0 and not total.any():
                    inst.calculate_levels(data)
                    continue
                total *= plan.factor
                total += F.EPS
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
            if pipe._hi is not None:
                pipe._clip(x, pipe._lo, pipe._hi, out=x)
            t6 = clock()
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
            P._sum_is_finite(z)
            t9 = clock()
            t.update(clip=t6 - t5, encoder=t7 - t6, finite=t9 - t8)
            if stage is not None:
                p = fe.power_ac          # as ChunkPipeline._loudness, on the copy's power
                if pipe._hi is not None:
                    p = pipe._clip(p, pipe._plo, pipe._phi, out=pipe._sum)
                loud = math.log10(np.add.reduce(p))
                t10 = clock()
                v = stage.levels(z, loud)
                if stage._exact is not None and stage.near_line(v, stage._margin):
                    v = stage.levels(z, stage._exact(x))
                t11 = clock()
                prev = stage._bands_of(x)
                t12 = clock()
                np.array(stage.step(v, lambda: stage._rose(prev), seconds), np.float32)
                t13 = clock()
                t.update(loudness=t10 - t9, levels=t11 - t10, bands=t12 - t11, rules=t13 - t12)
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


def _per_chunk_child() -> None:
    """``measure_per_chunk`` in another interpreter (the harness venv): JSON in argv, JSON out."""
    import numpy as np
    p = json.loads(sys.argv[1])
    pcms = [np.load(path) for path in p["pcms"]]
    res = measure_per_chunk([tuple(f) for f in p["forks"]], p["shims"], p["model"], pcms,
                            p["rate"], p["n"], p["block"])
    print(json.dumps(res))


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
        code = ("import sys; sys.path.insert(0, %r); from train.bench import _per_chunk_child; "
                "_per_chunk_child()" % REPO)
        py = os.path.join(cfg.venv, "bin", "python")
        r = subprocess.run([py, "-c", code, json.dumps(params)], capture_output=True, text=True,
                           env=_child_env(), cwd=REPO, timeout=1800)
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


# ---------------------------------------------------------------- 2./3. harness runs

def _installed_plugin(venv: str) -> Tuple[Optional[str], List[str], str]:
    """``(package dir, stale files, why)`` of the plugin in the harness venv."""
    py = os.path.join(venv, "bin", "python")
    r = _run([py, "-c", "import os, sys, lightshowpi_autoencoder as m, site\n"
              "print(os.path.dirname(m.__file__))\n"
              "print(any(os.path.isfile(os.path.join(p, 'lightshowpi_autoencoder.pth')) "
              "for p in site.getsitepackages()))"], env=_clean_env(), cwd="/")
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


#: ``python -c _RSS_WRAPPER RESULT_FILE CMD...``: runs CMD, writes "returncode maxrss_kb",
#: the peak resident size of the largest process of CMD's tree (RUSAGE_CHILDREN covers
#: every descendant that was waited for: run_lsp.sh -> lsp_run.py -> LightShowPi).
_RSS_WRAPPER = (
    "import resource, subprocess, sys\n"
    "rc = subprocess.call(sys.argv[2:], stdin=subprocess.DEVNULL)\n"
    "with open(sys.argv[1], 'w') as fh:\n"
    "    fh.write('%d %d' % (rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n")


#: ``sitecustomize.py`` for the LightShowPi processes of the createcache runs (both with and
#: without the plugin): audioread's ffmpeg reader thread queues decoded audio without bound,
#: so however far the decoder runs ahead of the chunk loop stayed in memory (0 to the whole
#: song, 16-32 MB peaks from run to run). Its stdout queue is bounded here to
#: PINNED_BLOCKS blocks (of 8 KiB: ~3 s of CD audio), so the peak holds a fixed amount of
#: decoded audio and the difference with and without the plugin is the plugin's. On close the
#: bound is lifted first, so a reader waiting on a full queue can finish (close joins it).
PINNED_BLOCKS = 64
_PIN_DECODER = r"""
import queue, threading
try:
    import audioread.ffdec as _ff
except Exception:
    _ff = None
if _ff is not None:
    _next = threading.local()
    _init, _qinit, _close = (_ff.FFmpegAudioFile.__init__, _ff.QueueReaderThread.__init__,
                             _ff.FFmpegAudioFile.close)

    def _file_init(self, *args, **kwargs):
        _next.stdout = True          # the first reader it makes is stdout's (then stderr's)
        try:
            _init(self, *args, **kwargs)
        finally:
            _next.stdout = False

    def _reader_init(self, fh, *args, **kwargs):
        _qinit(self, fh, *args, **kwargs)
        if getattr(_next, "stdout", False):
            _next.stdout = False
            if self.queue is not None:
                self.queue = queue.Queue(maxsize=%d)

    def _file_close(self):
        q = getattr(getattr(self, "stdout_reader", None), "queue", None)
        if q is not None and q.maxsize:
            with q.mutex:
                q.maxsize = 0
                q.not_full.notify_all()
        _close(self)

    _ff.FFmpegAudioFile.__init__ = _file_init
    _ff.QueueReaderThread.__init__ = _reader_init
    _ff.FFmpegAudioFile.close = _file_close
""" % PINNED_BLOCKS


def _pinned_decoder_path(cfg: Config) -> str:
    """A folder holding the decoder-pinning ``sitecustomize.py`` (made once per bench run)."""
    folder = os.path.join(cfg.tmp, "pinned-decoder")
    if not os.path.isdir(folder):
        os.makedirs(folder)
        with open(os.path.join(folder, "sitecustomize.py"), "w") as fh:
            fh.write(_PIN_DECODER)
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
        subprocess.run([sys.executable, "-I", "-S", "-c", _RSS_WRAPPER, rss_file] + cmd,
                       stdout=fh, stderr=subprocess.STDOUT,
                       env=_clean_env(PYTHONPATH=_pinned_decoder_path(cfg)),
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
    song = cfg.cache_song or _median_length_song(songs)
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


def _median_length_song(songs: Sequence[str]) -> str:
    try:
        import soundfile as sf
        lengths = sorted((sf.info(p).duration, p) for p in songs)
        return lengths[(len(lengths) - 1) // 2][1]
    except Exception:
        return songs[0]


# ---------------------------------------------------------------- child interpreters

#: A fresh interpreter that loads only numpy and LightShowPi's fft.py before it
#: measures (nothing of this package or the bench), so the plugin's imports are
#: counted in full. ``python -c CODE MODE key=value ...``; prints key=value lines.
_CHILD = r"""
import os, sys, time
mode = sys.argv[1]
p = dict(a.split("=", 1) for a in sys.argv[2:])
import numpy as np
FFT_ARGS = %(fft_args)r

def load_fft():
    import importlib.util
    if p.get("shims"):
        sys.path.append(p["shims"])
    spec = importlib.util.spec_from_file_location("fft", os.path.join(p["checkout"], "py", "fft.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules["fft"] = mod
    spec.loader.exec_module(mod)
    return mod

def plugin_class(base):
    from lightshowpi_autoencoder import host
    from lightshowpi_autoencoder.settings import Settings
    settings = Settings(enabled=True, model=p["model"], source="bench")
    return host.make_class(base, settings_reader=lambda: settings)

def status(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1

if mode == "import":
    load_fft()   # LightShowPi has its fft.py (and logging, configparser) loaded first
    t0 = time.perf_counter()
    import lightshowpi_autoencoder.host, lightshowpi_autoencoder.pipeline
    if p["backend"] == "numpy":
        import lightshowpi_autoencoder.tflite_numpy
    elif p["backend"] == "litert":
        import ai_edge_litert.interpreter
    elif p["backend"] == "tflite_runtime":
        import tflite_runtime.interpreter
    print("import_s=%%r" %% (time.perf_counter() - t0))
    sys.exit(0)

mod = load_fft()
pcm = np.load(p["pcm"])
chunk = int(p["chunk"])
args = (chunk, int(p["rate"])) + FFT_ARGS
if mode == "startup":
    first = int(p["first"])
    data = pcm[first * chunk:(first + 1) * chunk].tobytes()
    t0 = time.perf_counter()
    cls = plugin_class(mod.FFT) if p["which"] == "plugin" else mod.FFT
    inst = cls(*args)
    inst.calculate_levels(data)
    print("startup_s=%%r" %% (time.perf_counter() - t0))
elif mode == "rss":
    import gc
    gc.collect()
    try:  # reset the peak: loading the song is not the FFT's
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        print("hwm_reset=1")
    except OSError:
        print("hwm_reset=0")
    print("rss_before_kb=%%d" %% status("VmRSS"))
    inst = (plugin_class(mod.FFT) if p["which"] == "plugin" else mod.FFT)(*args)
    n = pcm.shape[0] // chunk
    for i in range(n):
        inst.calculate_levels(pcm[i * chunk:(i + 1) * chunk].tobytes())
    print("rss_after_kb=%%d" %% status("VmRSS"))
    print("hwm_kb=%%d" %% status("VmHWM"))
    print("chunks=%%d" %% n)
print("state=%%s" %% getattr(inst, "_state", "lsp"))
""" % {"fft_args": FFT_ARGS}


def parse_kv(text: str) -> Dict[str, Any]:
    """``key=value`` lines -> dict (numbers as float)."""
    out: Dict[str, Any] = {}
    for line in text.splitlines():
        if "=" not in line:
            continue
        key, value = line.split("=", 1)
        try:
            out[key.strip()] = float(value)
        except ValueError:
            out[key.strip()] = value.strip()
    return out


def _child(params: Dict[str, Any], backend: Optional[str] = None, timeout: float = 300,
           python: Optional[str] = None) -> Dict[str, Any]:
    """Run :data:`_CHILD` in a fresh ``python`` (default this one) with this repository first
    on its path; ``backend`` is forced with LSPAI_BACKEND."""
    env = _child_env(**({"LSPAI_BACKEND": backend} if backend else {}))
    mode = params.pop("mode")
    argv = ["%s=%s" % (k, v) for k, v in params.items() if v is not None]
    r = subprocess.run([python or sys.executable, "-c", _CHILD, mode] + argv,
                       capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("helper interpreter (%s) failed: %s" % (
            mode, (r.stderr.strip().splitlines() or ["?"])[-1]))
    return parse_kv(r.stdout)


def _song_pcm(cfg: Config) -> Tuple[str, int, str]:
    """The benchmark song decoded once to an .npy for the helper interpreters."""
    if "pcm" in cfg.shared:
        return cfg.shared["pcm"]
    import numpy as np
    from .show.audio import decode
    song = cfg.cache_song or _median_length_song(cfg.need_songs())
    pcm, rate = decode(song)
    path = os.path.join(cfg.tmp, "song.npy")
    np.save(path, pcm)
    cfg.shared["pcm"] = (path, int(rate), song)
    return cfg.shared["pcm"]


def _first_fork(cfg: Config) -> Tuple[str, str]:
    forks = cfg.forks()
    if not forks:
        raise Skip(cfg.no_forks_reason())
    return forks[0]


def _helper_python(cfg: Config) -> Tuple[str, str]:
    """The interpreter for fresh-interpreter measurements: the harness venv's (LightShowPi's
    environment) when there is one, else this one. ``(path, description)``."""
    if cfg.venv:
        py = os.path.join(cfg.venv, "bin", "python")
        r = _run([py, "-c", "import numpy, platform; print(platform.python_version(), "
                  "numpy.__version__)"], env=_clean_env())
        if r.returncode == 0:
            pyv, npv = r.stdout.split()
            return py, "`%s` (the harness venv: Python %s, numpy %s)" % (py, pyv, npv)
    import numpy
    return sys.executable, "`%s` (Python %s, numpy %s)" % (
        sys.executable, platform.python_version(), numpy.__version__)


def _usable_backends(model_path: str) -> List[Tuple[str, bool, str]]:
    from lightshowpi_autoencoder import modelfile
    model = modelfile.load(model_path)
    return [(name,) + probe_backend(name, model) for name in ("litert", "numpy")]


# ---------------------------------------------------------------- 3. memory

def section_memory(cfg: Config, sec: Section) -> None:
    kind, checkout = _first_fork(cfg)
    model_path = cfg.need_model()
    pcm_path, rate, song = _song_pcm(cfg)
    chunk = NATIVE_CHUNK[kind]
    py, py_text = _helper_python(cfg)
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
    backends = _usable_backends(model_path)
    base_runs = []
    plug_runs: Dict[str, List[Dict[str, Any]]] = {b: [] for b, ok, _ in backends if ok}
    params = {"mode": "rss", "checkout": checkout, "shims": cfg.shims, "pcm": pcm_path,
              "chunk": chunk, "rate": rate, "model": model_path}
    for _ in range(cfg.fresh_runs):
        base_runs.append(_child(dict(params, which="lsp"), python=py))
        for b in plug_runs:
            res = _child(dict(params, which="plugin"), backend=b, python=py)
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


# ---------------------------------------------------------------- 4. start-up

def section_startup(cfg: Config, sec: Section) -> None:
    kind, checkout = _first_fork(cfg)
    model_path = cfg.need_model()
    pcm_path, rate, song = _song_pcm(cfg)
    import numpy as np
    chunk = NATIVE_CHUNK[kind]
    pcm = np.load(pcm_path)
    first = next((i for i in range(pcm.shape[0] // chunk)
                  if pcm[i * chunk:(i + 1) * chunk].any()), 0)
    data_first = pcm[first * chunk:(first + 1) * chunk].tobytes()
    mod = load_lsp_fft(checkout, cfg.shims)
    backends = _usable_backends(model_path)
    py, py_text = _helper_python(cfg)
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
        imports = [_child({"mode": "import", "backend": b, "checkout": checkout,
                           "shims": cfg.shims}, python=py)["import_s"]
                   for _ in range(cfg.fresh_runs)]
        cold_lsp: List[float] = []
        cold_plug: List[float] = []
        params = {"mode": "startup", "checkout": checkout, "shims": cfg.shims, "pcm": pcm_path,
                  "chunk": chunk, "rate": rate, "model": model_path, "first": first}
        for _ in range(cfg.fresh_runs):
            cold_lsp.append(_child(dict(params, which="lsp"), python=py)["startup_s"])
            res = _child(dict(params, which="plugin"), backend=b, python=py)
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


# ---------------------------------------------------------------- 5. .pth hook

def section_pth(cfg: Config, sec: Section) -> None:
    pth_src = os.path.join(REPO, "lightshowpi_autoencoder.pth")
    if not os.path.isfile(pth_src):
        raise Skip("no lightshowpi_autoencoder.pth in %s" % REPO)
    venv = os.path.join(cfg.tmp, "pth-venv")
    base_python = getattr(sys, "_base_executable", sys.executable) or sys.executable
    r = _run([base_python, "-m", "venv", "--without-pip", venv], timeout=120, env=_clean_env())
    if r.returncode != 0:
        raise Skip("cannot make a venv with %s -m venv (%s)" % (
            base_python, (r.stderr.strip().splitlines() or ["?"])[-1]))
    py = os.path.join(venv, "bin", "python")
    site_dir = _run([py, "-c", "import site; print(site.getsitepackages()[0])"],
                    env=_clean_env()).stdout.strip()
    # the repository on the path; sorted before the hook's .pth (site reads them in name order)
    with open(os.path.join(site_dir, "_lspai_repo_path.pth"), "w") as fh:
        fh.write(REPO + "\n")
    hook = os.path.join(site_dir, "lightshowpi_autoencoder.pth")
    parked = os.path.join(venv, "lightshowpi_autoencoder.pth.off")
    shutil.copyfile(pth_src, parked)
    home = cfg.forks()[0][1] if cfg.forks() else cfg.tmp

    def place(present: bool) -> None:
        if present and not os.path.exists(hook):
            os.replace(parked, hook)
        elif not present and os.path.exists(hook):
            os.replace(hook, parked)

    envs = {"unset": _clean_env(PYTHONDONTWRITEBYTECODE="1"),
            "set": _clean_env(PYTHONDONTWRITEBYTECODE="1", SYNCHRONIZED_LIGHTS_HOME=home)}
    # the hook really runs: with the variable set it registers its finder
    place(True)
    probe = "import sys; print(any(type(f).__name__ == 'FftFinder' for f in sys.meta_path))"
    active = {k: _run([py, "-c", probe], env=e).stdout.strip() for k, e in envs.items()}
    if active.get("set") != "True" or active.get("unset") != "False":
        place(False)
        raise RuntimeError("the hook did not behave as expected in the test venv (finder "
                           "registered: unset=%s, set=%s)" % (active.get("unset"), active.get("set")))
    # compile the repo's bytecode once, so no run pays for it
    _run([py, "-c", "import lightshowpi_autoencoder.startup"], env=_clean_env())
    states = [(present, env) for env in ("unset", "set") for present in (True, False)]
    times: Dict[Tuple[bool, str], List[float]] = {s: [] for s in states}
    for i in range(cfg.pth_runs + 5):
        order = states if i % 2 == 0 else list(reversed(states))
        for present, env in order:
            place(present)
            t0 = time.perf_counter_ns()
            subprocess.run([py, "-c", "pass"], env=envs[env], check=True)
            dt = time.perf_counter_ns() - t0
            if i >= 5:   # 5 warm-up rounds
                times[(present, env)].append(dt / 1e6)
    place(True)
    imptime = {}
    for env in ("unset", "set"):
        r = _run([py, "-X", "importtime", "-c", "pass"], env=envs[env])
        imptime[env] = [line for line in r.stderr.splitlines() if "lightshowpi" in line]
    place(False)
    sec.method.append(
        "A throw-away venv (`%s -m venv --without-pip`) with a path `.pth` pointing at this "
        "repository; `python -c pass` timed (wall, `perf_counter_ns` around the subprocess) "
        "%d times in each of four states, interleaved: `lightshowpi_autoencoder.pth` in or out "
        "of site-packages, `SYNCHRONIZED_LIGHTS_HOME` unset (any unrelated program) or set (the "
        "hook imports `lightshowpi_autoencoder.startup` and registers its finder). Checked: the "
        "finder is registered only when the variable is set." % (base_python, cfg.pth_runs))
    rows = []
    data = {}
    for env in ("unset", "set"):
        with_, without = median(times[(True, env)]), median(times[(False, env)])
        d = diff(with_, without)
        label = "SYNCHRONIZED_LIGHTS_HOME %s" % env
        if env == "unset":
            c = sec.check("pth_ms", label + " (unrelated interpreter)", d)
            result = mark(c.ok)
        else:
            result = "%s (for reference)" % mark(passes(d, "<=", 2.0))
        rows.append([label, fmt(without, 2), fmt(with_, 2), fmt(d, 2), result])
        data[env] = {"with_ms": times[(True, env)], "without_ms": times[(False, env)]}
    sec.table(["Environment", "Without .pth ms", "With .pth ms", "Added ms", "≤ 2 ms"], rows)
    for env in ("unset", "set"):
        lines = imptime[env]
        if lines:
            sec.notes.append("`python -X importtime -c pass`, variable %s, lines mentioning "
                             "lightshowpi (µs self | cumulative | module):" % env)
            sec.notes.append("```\n" + "\n".join(lines) + "\n```")
        else:
            sec.notes.append("`python -X importtime -c pass`, variable %s: no line mentions "
                             "lightshowpi (the hook imports nothing)." % env)
    data["importtime"] = imptime
    sec.data = data


# ---------------------------------------------------------------- 6./7. training side

def section_features(cfg: Config, sec: Section) -> None:
    songs = cfg.need_songs()
    from lightshowpi_autoencoder import features as F
    from .show.audio import decode
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
    env = _child_env()
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


# ---------------------------------------------------------------- command

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
