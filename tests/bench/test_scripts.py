"""The scripts the bench runs in other interpreters (child, probe, rss_wrapper,
pin_decoder) and what reads their answers."""
from __future__ import annotations

import argparse
import os

from train.bench import env, fresh


def test_parse_kv():
    out = fresh.parse_kv("import_s=0.5\nstate=active\nnoise line\nchunks=12\n")
    assert out == {"import_s": 0.5, "state": "active", "chunks": 12.0}


# ---------------------------------------------------------------- the scripts other interpreters run

def _fake_fft_checkout(root):
    """A checkout whose ``py/fft.py`` has an FFT that returns zeros (LightShowPi's signature)."""
    os.makedirs(os.path.join(root, "py"))
    with open(os.path.join(root, "py", "fft.py"), "w") as fh:
        fh.write("import numpy as np\n\n\nclass FFT:\n"
                 "    def __init__(self, chunk_size, sample_rate, *args):\n"
                 "        self.calls = 0\n\n"
                 "    def calculate_levels(self, data):\n"
                 "        self.calls += 1\n"
                 "        return np.zeros(8)\n")
    return str(root)


def test_child_measures_import_startup_and_memory_in_a_fresh_interpreter(tmp_path):
    import numpy as np
    checkout = _fake_fft_checkout(tmp_path / "lsp")
    pcm = np.zeros((4096 * 3 + 10, 2), dtype=np.int16)
    np.save(tmp_path / "song.npy", pcm)
    got = fresh.run_child({"mode": "import", "backend": "numpy", "checkout": checkout,
                           "shims": None})
    assert set(got) == {"import_s"} and got["import_s"] >= 0
    base = {"checkout": checkout, "shims": None, "pcm": str(tmp_path / "song.npy"),
            "chunk": 4096, "rate": 44100, "model": "unused", "which": "lsp"}
    got = fresh.run_child(dict(base, mode="startup", first=1))
    assert got["state"] == "lsp" and got["startup_s"] >= 0
    got = fresh.run_child(dict(base, mode="rss"))
    assert got["state"] == "lsp" and got["chunks"] == 3 and got["hwm_kb"] > 0


def test_probe_answers_by_path_in_another_folder(tmp_path):
    import subprocess
    import sys
    import numpy
    r = subprocess.run([sys.executable, env.PROBE, "versions"], capture_output=True, text=True,
                       cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[1] == numpy.__version__
    r = subprocess.run([sys.executable, env.PROBE, "nonsense"], capture_output=True, text=True)
    assert r.returncode != 0 and "unknown question" in r.stderr


def test_rss_wrapper_reports_the_exit_code_and_a_peak(tmp_path):
    import subprocess
    import sys
    result = tmp_path / "rss.txt"
    r = subprocess.run([sys.executable, "-I", "-S", os.path.join(os.path.dirname(env.PROBE),
                        "rss_wrapper.py"), str(result), sys.executable, "-c",
                        "import sys; sys.exit(3)"])
    assert r.returncode == 0
    rc, maxrss = (int(v) for v in result.read_text().split())
    assert rc == 3 and maxrss > 1000


def test_pinned_decoder_is_copied_as_sitecustomize(tmp_path):
    from train.bench import createcache
    cfg = argparse.Namespace(tmp=str(tmp_path))
    folder = createcache.pinned_decoder_path(cfg)
    text = open(os.path.join(folder, "sitecustomize.py")).read()
    assert "LSPAI_BENCH_PINNED_BLOCKS" in text and "audioread" in text
