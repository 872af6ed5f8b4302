"""Where the bench finds what it measures: LightShowPi checkouts, the harness and
its venv, songs, the model (:class:`Config`), and the machine it runs on.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import logging
import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .common import (DEFAULT_HARNESS, DEFAULT_HARNESS_VENVS, DEFAULT_MUSIC, FORK_NAMES, RATE, REPO,
                     Skip)


#: the questions other interpreters answer (run by path, see its docstring)
PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe.py")


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
    from ..show.audio import list_songs
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


def run_captured(cmd: Sequence[str], timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, **kw)


def git_commit() -> str:
    try:
        head = run_captured(["git", "-C", REPO, "rev-parse", "--short=12", "HEAD"]).stdout.strip()
        dirty = run_captured(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"]).stdout.strip()
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
            r = run_captured([py, PROBE, "versions"], env=clean_env())
            pyv, npv, lv = r.stdout.split()
            lv = lv.replace("-", " ")
            info["Harness venv (createcache runs)"] = "%s: Python %s, numpy %s, ai-edge-litert %s" % (
                venv, pyv, npv, lv)
        except Exception as exc:
            info["Harness venv (createcache runs)"] = "%s: unreadable (%s)" % (venv, exc)
    return info


def clean_env(**extra: str) -> Dict[str, str]:
    env = dict(os.environ)
    for key in ("SYNCHRONIZED_LIGHTS_HOME", "LSPAI_BACKEND", "PYTHONSTARTUP"):
        env.pop(key, None)
    env.update(extra)
    return env


def child_env(**extra: str) -> Dict[str, str]:
    """Environment of a fresh helper interpreter that imports this repository's code."""
    env = clean_env(**extra)
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
    from ..show.audio import decode
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
