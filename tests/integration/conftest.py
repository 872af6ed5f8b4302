"""What the integration tests share: the harness venv with this plugin installed for
real, the plain ``run_lsp.sh`` fixture (``lsp``), the run record and the song excerpt.

They run the plugin inside the real LightShowPi, through ../shared/lightshowpi-harness,
when ``LIGHTSHOWPI_HOME`` names one or more LightShowPi checkouts
(``os.pathsep``-separated, e.g. ``/tmp/lsp/ez:/tmp/lsp/neo``, extracted with the
harness's setup_lsp.sh); each module skips otherwise, with the reason
(``pytestmark = MARKS``). The harness venv gets this repository installed for real
(``pip install .``: the .pth hook and the packaged default model), so LightShowPi's
own ``import fft`` picks the plugin up exactly as on a Pi.
"""
import json
import os
import subprocess

import numpy as np
import pytest

from ..conftest import REPO, SHARED, shared_song

HARNESS = os.path.join(SHARED, "lightshowpi-harness")
CHECKOUTS = [p for p in os.environ.get("LIGHTSHOWPI_HOME", "").split(os.pathsep) if p]

#: every integration module's ``pytestmark``: marked, and skipped (saying why) without checkouts
MARKS = [pytest.mark.integration]
if not CHECKOUTS:
    MARKS.append(pytest.mark.skip(
        reason="LIGHTSHOWPI_HOME is not set: no real LightShowPi checkout to run "
               "(extract one with ../shared/lightshowpi-harness/setup_lsp.sh)"))


@pytest.fixture(scope="session")
def harness_venv(tmp_path_factory):
    """The harness's LightShowPi venv plus this plugin, installed the way install.sh does."""
    if not os.path.isfile(os.path.join(HARNESS, "run_lsp.sh")):
        pytest.skip("harness not found at %s" % HARNESS)
    if not CHECKOUTS:
        # a session fixture is set up before a module's own skip (test_gpu's `original`)
        pytest.skip(MARKS[-1].kwargs["reason"])
    venv = os.environ.get("LSPAI_HARNESS_VENV") or str(tmp_path_factory.mktemp("lsp") / "venv")
    py = os.path.join(venv, "bin", "python")
    if not os.path.isfile(os.path.join(venv, ".lsp_harness_ok")):
        # let the harness build its venv with LightShowPi's own dependencies
        work = tmp_path_factory.mktemp("boot")
        song = _excerpt(work, seconds=2)
        r = subprocess.run([os.path.join(HARNESS, "run_lsp.sh"), "--lsp", CHECKOUTS[0], "--venv",
                            venv, "--song", song, "--mode", "createcache", "--out", str(work / "o")],
                           capture_output=True, text=True)
        assert os.path.isfile(os.path.join(venv, ".lsp_harness_ok")), r.stdout + r.stderr
    numpy_pin = subprocess.run([py, "-c", "import numpy; print(numpy.__version__)"],
                               capture_output=True, text=True, check=True).stdout.strip()
    r = subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "--force-reinstall", "--no-deps", REPO], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "numpy==" + numpy_pin, REPO], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return venv


def _excerpt(folder, seconds=20, name="vibe-ace_kevin-macleod.ogg", rate=None):
    """A short WAV cut from a shared song (both decoders read WAV identically)."""
    from train.show.audio import decode, write_wav
    pcm, sr = decode(shared_song(name))
    pcm = pcm[20 * sr: (20 + seconds) * sr]
    path = os.path.join(str(folder), "song%s.wav" % ("" if rate is None else rate))
    if rate and rate != sr:
        idx = np.arange(int(len(pcm) * rate / sr)) * (sr / rate)
        pcm = np.stack([np.interp(idx, np.arange(len(pcm)), pcm[:, c]) for c in range(2)], 1)
        pcm = pcm.astype(np.int16)
    write_wav(path, pcm, rate or sr)
    return path


class Run:
    def __init__(self, out):
        self.out = out
        self.summary = json.load(open(os.path.join(out, "summary.json")))
        self.log = open(os.path.join(out, "program.log"), errors="replace").read()
        b = os.path.join(out, "brightness.npy")
        self.brightness = np.load(b) if os.path.isfile(b) else None

    @property
    def cache_written(self):
        return (self.summary.get("sync") or {}).get("written_by_this_run")

    @property
    def fft_cfg(self):
        return self.summary.get("fft_cfg_after") or {}

    def sync_rows(self):
        return np.loadtxt(self.summary["sync"]["path"], ndmin=2)[2:]


@pytest.fixture(params=CHECKOUTS or ["none"], ids=lambda p: os.path.basename(p.rstrip("/")))
def lsp(request, harness_venv, tmp_path):
    checkout = request.param
    counter = iter(range(100))

    def run(song, mode="createcache", plugin=True, extra="", fresh=False, expect_ok=True):
        cfg = tmp_path / ("over%d.cfg" % next(counter))
        lines = "[audio_processing]\n" + ("autoencoder = on\n" if plugin else "") + extra
        cfg.write_text(lines)
        out = str(tmp_path / ("out%d" % next(counter)))
        cmd = [os.path.join(HARNESS, "run_lsp.sh"), "--lsp", checkout, "--venv", harness_venv,
               "--song", song, "--mode", mode, "--out", out, "--overrides", str(cfg), "--timeout", "600"]
        if fresh:
            cmd.append("--fresh")
        r = subprocess.run(cmd, capture_output=True, text=True)
        if expect_ok:
            assert r.returncode == 0, r.stdout + r.stderr + open(os.path.join(out, "program_output.txt"),
                                                                 errors="replace").read()[-3000:]
        return Run(out)
    run.checkout = checkout
    return run


def _plugin_log_lines(run):
    return [l for l in run.log.splitlines() if "lightshowpi_autoencoder" in l]
