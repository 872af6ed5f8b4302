"""``use_gpu = True`` in the original LightShowPi against a compiled rpi_audio_levels.

The FFTW port of rpi_audio_levels is built by tests/support/build_audio_levels.py in two
variants and put first on the harness's PYTHONPATH, ahead of the harness's Python
stand-in (which lsp_boot.py appends to sys.path, so a real module always wins):

* ``gpu`` (prepare() patched to N = 1 << size, the GPU build's semantics): the plugin
  uses it, and the levels equal those of ``use_gpu = False`` within 1e-4;
* ``published`` (size is the FFT length): the plugin refuses it with one log line
  naming the file, and the song plays with numpy's levels all the same.

Runs for checkouts of the original fork (its py/fft.py imports rpi_audio_levels) among
LIGHTSHOWPI_HOME; skipped with the reason when there is none, or nothing compiles here.
"""
import json
import os
import subprocess

import numpy as np
import pytest

from ..support import build_audio_levels
from .conftest import CHECKOUTS, HARNESS, Run, _excerpt

pytestmark = pytest.mark.integration


def _uses_gpu_library(checkout):
    try:
        with open(os.path.join(checkout, "py", "fft.py")) as fh:
            return "from rpi_audio_levels import" in fh.read()
    except OSError:
        return False


ORIGINALS = [c for c in CHECKOUTS if _uses_gpu_library(c)]


@pytest.fixture(scope="module", params=ORIGINALS or ["none"],
                ids=lambda p: os.path.basename(p.rstrip("/")))
def original(request):
    if not ORIGINALS:
        pytest.skip("no checkout of the original LightShowPi (py/fft.py imports rpi_audio_levels) "
                    "in LIGHTSHOWPI_HOME=%r" % os.environ.get("LIGHTSHOWPI_HOME", ""))
    return request.param


def compiled_for(venv, variant):
    """The variant's folder, importable by the harness venv's Python (built for it if need be)."""
    py = os.path.join(venv, "bin", "python")
    try:
        folder = build_audio_levels.build(variant)
        if not build_audio_levels._importable(folder, py):
            folder = build_audio_levels.build(variant, python=py)
    except build_audio_levels.Unavailable as exc:
        pytest.skip("no compiled rpi_audio_levels (%s): %s" % (variant, exc))
    return folder


@pytest.fixture
def run_ez(original, harness_venv, tmp_path):
    counter = iter(range(100))

    def run(song, use_gpu, library=None, mode="createcache", fresh=False):
        n = next(counter)
        cfg = tmp_path / ("over%d.cfg" % n)
        cfg.write_text("[audio_processing]\nautoencoder = on\nuse_gpu = %s\n" % use_gpu)
        out = str(tmp_path / ("out%d" % n))
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        if library:
            env["PYTHONPATH"] = library
        cmd = [os.path.join(HARNESS, "run_lsp.sh"), "--lsp", original, "--venv", harness_venv,
               "--song", song, "--mode", mode, "--out", out, "--overrides", str(cfg),
               "--timeout", "600"] + (["--fresh"] if fresh else [])
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        result = Run(out)
        with open(os.path.join(out, "boot.json")) as fh:
            result.boot = json.load(fh)
        return result
    return run


def _gpu_lines(run):
    return [l for l in run.log.splitlines() if "GPU FFT library" in l]


def test_gpu_semantics_give_the_numpy_levels(run_ez, harness_venv, tmp_path):
    folder = compiled_for(harness_venv, "gpu")
    song = _excerpt(tmp_path)
    cpu = run_ez(song, False)
    gpu = run_ez(song, True, library=folder)
    assert gpu.boot["modules"]["rpi_audio_levels"].startswith(folder)   # not the stand-in
    assert "on GPU (%s" % folder in gpu.log and not _gpu_lines(gpu)
    assert gpu.cache_written and cpu.cache_written
    a, b = cpu.sync_rows(), gpu.sync_rows()
    assert a.shape == b.shape and len(a) > 300 and a.any()
    assert np.abs(a - b).max() <= 1e-4


def test_port_as_published_is_refused_and_the_song_plays_numpys_levels(run_ez, harness_venv,
                                                                       tmp_path):
    folder = compiled_for(harness_venv, "published")
    song = _excerpt(tmp_path)
    cpu = run_ez(song, False)
    played = run_ez(song, True, library=folder, mode="play", fresh=True)
    library = played.boot["modules"]["rpi_audio_levels"]
    assert library.startswith(folder)
    lines = _gpu_lines(played)
    assert len(lines) == 1 and "WARNING" in lines[0] and library in lines[0]
    assert "differ from numpy's" in lines[0] and "numpy's FFT instead" in lines[0]
    assert "the GPU library was refused" in played.log
    assert played.brightness is not None and len(played.brightness) > 300
    assert 0 < np.mean(played.brightness) < 1
    a, b = cpu.sync_rows(), played.sync_rows()
    assert a.shape == b.shape and np.abs(a - b).max() <= 1e-4
