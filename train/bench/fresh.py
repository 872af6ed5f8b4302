"""Fresh helper interpreters (:mod:`train.bench.child`) for the memory and start-up
sections, and what they share.
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .common import REPO, Skip
from .env import PROBE, Config, child_env, clean_env, probe_backend, run_captured

#: the fresh interpreter's script, run by path (see its docstring)
CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "child.py")


def median_length_song(songs: Sequence[str]) -> str:
    """The song of median duration (soundfile's header), else the first."""
    try:
        import soundfile as sf
        lengths = sorted((sf.info(p).duration, p) for p in songs)
        return lengths[(len(lengths) - 1) // 2][1]
    except Exception:
        return songs[0]


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


def run_child(params: Dict[str, Any], backend: Optional[str] = None, timeout: float = 300,
              python: Optional[str] = None) -> Dict[str, Any]:
    """Run :mod:`train.bench.child` by path in a fresh ``python`` (default this one) with
    this repository first on its path; ``backend`` is forced with LSPAI_BACKEND.

    :param params: ``mode`` plus the child's ``key=value`` parameters (None ones left out).
    :returns: the child's ``key=value`` lines (numbers as float).
    """
    env = child_env(**({"LSPAI_BACKEND": backend} if backend else {}))
    mode = params.pop("mode")
    argv = ["%s=%s" % (k, v) for k, v in params.items() if v is not None]
    r = subprocess.run([python or sys.executable, CHILD, mode] + argv,
                       capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("helper interpreter (%s) failed: %s" % (
            mode, (r.stderr.strip().splitlines() or ["?"])[-1]))
    return parse_kv(r.stdout)


def song_pcm(cfg: Config) -> Tuple[str, int, str]:
    """The benchmark song decoded once to an .npy for the helper interpreters."""
    if "pcm" in cfg.shared:
        return cfg.shared["pcm"]
    import numpy as np
    from ..show.audio import decode
    song = cfg.cache_song or median_length_song(cfg.need_songs())
    pcm, rate = decode(song)
    path = os.path.join(cfg.tmp, "song.npy")
    np.save(path, pcm)
    cfg.shared["pcm"] = (path, int(rate), song)
    return cfg.shared["pcm"]


def first_fork(cfg: Config) -> Tuple[str, str]:
    forks = cfg.forks()
    if not forks:
        raise Skip(cfg.no_forks_reason())
    return forks[0]


def helper_python(cfg: Config) -> Tuple[str, str]:
    """The interpreter for fresh-interpreter measurements: the harness venv's (LightShowPi's
    environment) when there is one, else this one. ``(path, description)``."""
    if cfg.venv:
        py = os.path.join(cfg.venv, "bin", "python")
        r = run_captured([py, PROBE, "versions"], env=clean_env())
        if r.returncode == 0:
            pyv, npv = r.stdout.split()[:2]
            return py, "`%s` (the harness venv: Python %s, numpy %s)" % (py, pyv, npv)
    import numpy
    return sys.executable, "`%s` (Python %s, numpy %s)" % (
        sys.executable, platform.python_version(), numpy.__version__)


def usable_backends(model_path: str) -> List[Tuple[str, bool, str]]:
    from lightshowpi_autoencoder import modelfile
    model = modelfile.load(model_path)
    return [(name,) + probe_backend(name, model) for name in ("litert", "numpy")]
