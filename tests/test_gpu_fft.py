"""The GPU engine's check against numpy: which rpi_audio_levels the plugin accepts.

Stand-in libraries (numpy) cover the check's rules; the compiled FFTW port, built by
tests/support/build_audio_levels.py in both variants, covers the real thing in a
subprocess each (a compiled library keeps global C state: one per process).
"""
import logging
import os
import subprocess
import sys
import types

import numpy as np
import pytest

from lightshowpi_autoencoder import features as F
from lightshowpi_autoencoder import gpu_fft
from lightshowpi_autoencoder.settings import Settings

from .conftest import REPO
from .support import build_audio_levels
from .test_features import EmulatedAudioLevels, _load_shim
from .test_host import build, music_chunks

ON = Settings(enabled=True)


class LengthAsSize(EmulatedAudioLevels):
    """The FFTW port as published: ``size`` is the FFT length itself (bins past it read 0)."""

    def __init__(self, size, bands):
        super().__init__(size, bands)
        self.n = int(size)


def scaled(factor):
    class Scaled(EmulatedAudioLevels):
        """Every band's power times ``factor`` (log10 shifted by log10(factor))."""

        def compute(self, data, bands):
            levels, means, stds = super().compute(data, bands)
            return [v + float(np.log10(factor)) for v in levels], means, stds
    return Scaled


class FewerBands(EmulatedAudioLevels):
    def compute(self, data, bands):
        levels, means, stds = super().compute(data, bands)
        return levels[:8], means, stds


class Unpreparable:
    def __init__(self, size, bands):
        raise RuntimeError("Failed to initialize FFT computation")


class Counting(EmulatedAudioLevels):
    made = 0

    def __init__(self, size, bands):
        type(self).made += 1
        super().__init__(size, bands)


def library(cls, name):
    mod = types.ModuleType("rpi_audio_levels")
    mod.AudioLevels = cls
    mod.__file__ = "/opt/%s/rpi_audio_levels.so" % name
    return mod


def test_check_frame_has_energy_in_every_bin_and_a_falling_spectrum():
    frame = gpu_fft.check_frame()
    assert frame.shape == (1, F.FRAME) and np.isclose(np.abs(frame).max(), 0.5)
    power = F.numpy_power(frame)[0]
    assert power.min() > 0.9e-4 * power.max()
    assert power[1:10].mean() > 100 * power[-10:-1].mean()   # a permuted spectrum would show


@pytest.mark.parametrize("make", [lambda: types.SimpleNamespace(AudioLevels=EmulatedAudioLevels),
                                  _load_shim], ids=["in-test emulation", "harness shim"])
def test_the_gpu_semantics_pass(make):
    assert gpu_fft.compare(gpu_fft.GpuPower(make())) is None


def test_a_difference_just_inside_the_tolerance_passes_and_just_outside_fails():
    inside = 10 ** (0.5 * gpu_fft.TOLERANCE)
    outside = 10 ** (2 * gpu_fft.TOLERANCE)
    assert gpu_fft.compare(gpu_fft.GpuPower(library(scaled(inside), "in"))) is None
    problem = gpu_fft.compare(gpu_fft.GpuPower(library(scaled(outside), "out")))
    assert "513 of 513 bins" in problem and "more than 0.001" in problem


def test_length_as_size_wrong_count_and_failures_are_named():
    problem = gpu_fft.compare(gpu_fft.GpuPower(library(LengthAsSize, "port")))
    assert problem.startswith("513 of 513 bins") and "worst: bin" in problem
    problem = gpu_fft.compare(gpu_fft.GpuPower(library(FewerBands, "few")))
    assert "failed on the test frame" in problem and "(8,)" in problem
    assert "returned 2x513 values for 513 bins" in gpu_fft.compare(lambda f: np.ones((2, 513)))
    assert "failed on the test frame (ValueError" in gpu_fft.compare(
        lambda frames: (_ for _ in ()).throw(ValueError("boom")))


def test_refused_once_per_process_with_one_line_naming_the_file(caplog):
    lib = library(LengthAsSize, "published")
    with caplog.at_level(logging.INFO, logger="lightshowpi_autoencoder"):
        assert gpu_fft.process_engine(lib) is None
        assert gpu_fft.process_engine(lib) is None          # cached: no second check, no line
    lines = [r for r in caplog.records if "GPU FFT library" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING
    msg = lines[0].getMessage()
    assert lib.__file__ in msg and "513 of 513 bins" in msg and "numpy's FFT instead" in msg
    assert "use_gpu = False" in msg
    assert gpu_fft.instance_made(lib)


def test_accepted_engine_is_made_once_per_process():
    cls = type("Fresh", (Counting,), {"made": 0})
    lib = library(cls, "gpu")
    first = gpu_fft.process_engine(lib)
    assert first is not None and gpu_fft.process_engine(lib) is first and cls.made == 1
    assert not gpu_fft.instance_made(library(cls, "another"))


def test_a_library_that_cannot_be_prepared_is_refused(caplog):
    lib = library(Unpreparable, "broken")
    with caplog.at_level(logging.WARNING, logger="lightshowpi_autoencoder"):
        assert gpu_fft.process_engine(lib) is None
    assert "AudioLevels(10, 513) failed (RuntimeError: Failed to initialize" in caplog.text
    assert lib.__file__ in caplog.text


def gpu_host(monkeypatch, cls):
    """A stand-in original-fork ``fft`` module whose rpi_audio_levels is ``cls``; counts instances."""
    made = []

    class Recorded(cls):
        def __init__(self, size, bands):
            made.append((size, bands))
            super().__init__(size, bands)
    lib = library(Recorded, cls.__name__)
    from .conftest import StandInFFT
    host_mod = types.ModuleType("fft_standin_gpu_check")
    host_mod.FFT = type("FFT", (StandInFFT,), {"__module__": host_mod.__name__})
    host_mod.AudioLevels = Recorded
    monkeypatch.setitem(sys.modules, "rpi_audio_levels", lib)
    monkeypatch.setitem(sys.modules, host_mod.__name__, host_mod)
    return host_mod, made


def test_host_with_a_refused_library_plays_numpys_levels(monkeypatch, host_module, caplog):
    chunks = music_chunks(30)
    numpy_song = build(host_module(), ON)
    want = [numpy_song.calculate_levels(c) for c in chunks]
    mod, made = gpu_host(monkeypatch, LengthAsSize)
    with caplog.at_level(logging.INFO, logger="lightshowpi_autoencoder"):
        songs = [build(mod, ON, use_gpu=True) for _ in range(2)]            # two songs, one process
        got = [[fft.calculate_levels(c) for c in chunks] for fft in songs]
    for rows in got:
        assert np.allclose(rows, want, atol=1e-6)
    assert made == [(10, 513)]                  # the check's instance, and no other
    assert all(fft.pipeline.engine is None and fft.use_gpu is False for fft in songs)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "LengthAsSize" in warnings[0].getMessage()
    assert caplog.text.count("numpy (the GPU library was refused") == 2


def test_bucket_fallback_after_a_refusal_never_makes_the_hosts_instance(monkeypatch, tmp_path):
    mod, made = gpu_host(monkeypatch, LengthAsSize)
    build(mod, ON, use_gpu=True).calculate_levels(music_chunks(1)[0])     # refused here
    missing = build(mod, Settings(enabled=True, model=str(tmp_path / "gone.tflite")), use_gpu=True)
    row = missing.calculate_levels(music_chunks(1)[0])                      # LightShowPi's buckets
    assert missing._state == "buckets" and missing.use_gpu is False and len(row) == 8
    assert made == [(10, 513)]


def test_after_the_plugins_instance_a_later_songs_buckets_use_numpy(monkeypatch, tmp_path):
    """One AudioLevels per process: a second (the host's 8-band one) would share and then
    free the first one's C state."""
    mod, made = gpu_host(monkeypatch, EmulatedAudioLevels)
    build(mod, ON, use_gpu=True).calculate_levels(music_chunks(1)[0])     # accepted here
    off = build(mod, Settings(enabled=True, model=str(tmp_path / "gone.tflite")), use_gpu=True)
    off.calculate_levels(music_chunks(1)[0])
    assert off._state == "buckets" and off.use_gpu is False and made == [(10, 513)]


def test_accepted_engine_is_shared_by_the_songs_of_a_process(monkeypatch, caplog):
    mod, made = gpu_host(monkeypatch, EmulatedAudioLevels)
    with caplog.at_level(logging.INFO, logger="lightshowpi_autoencoder"):
        songs = [build(mod, ON, use_gpu=True) for _ in range(3)]
        for fft in songs:
            fft.calculate_levels(music_chunks(1)[0])
    assert made == [(10, 513)] and songs[0].pipeline.engine is songs[2].pipeline.engine
    assert caplog.text.count("on GPU (/opt/EmulatedAudioLevels/rpi_audio_levels.so) FFT") == 3


# ---------------------------------------------------------------- compiled libraries

CHILD = r"""
import json, logging, sys
import numpy as np
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
from lightshowpi_autoencoder import features as F, gpu_fft
import rpi_audio_levels
engine = gpu_fft.process_engine()
out = {"file": rpi_audio_levels.__file__, "accepted": engine is not None}
if engine is not None:
    rng = np.random.default_rng(int(sys.argv[1]))
    worst = 0.0
    for n in (512, 1024, 2048, 4096):
        pcm = rng.normal(0, 3000, (n, 2)).clip(-32768, 32767).astype(np.int16)
        a = F.chunk_features(pcm, 2, 44100)
        b = F.chunk_features(pcm, 2, 44100, engine=engine)
        worst = max(worst, float(np.abs(a - b).max()))
    out["max_feature_difference"] = worst
print("RESULT " + json.dumps(out))
"""


def compiled(variant):
    try:
        return build_audio_levels.build(variant)
    except build_audio_levels.Unavailable as exc:
        pytest.skip("no compiled rpi_audio_levels (%s): %s" % (variant, exc))


def run_child(folder, seed=0):
    import json
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([folder, REPO]))
    r = subprocess.run([sys.executable, "-c", CHILD, str(seed)], cwd="/", env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    result = [l for l in r.stdout.splitlines() if l.startswith("RESULT ")]
    return json.loads(result[-1][7:]), r.stderr


def test_compiled_gpu_semantics_are_accepted_and_agree_with_numpy():
    folder = compiled("gpu")
    result, log = run_child(folder)
    assert result["file"].startswith(folder) and result["accepted"], log
    assert result["max_feature_difference"] <= 1e-4
    assert "GPU FFT library" not in log


def test_compiled_port_as_published_is_refused_naming_its_file():
    folder = compiled("published")
    result, log = run_child(folder)
    assert result["file"].startswith(folder) and not result["accepted"]
    lines = [l for l in log.splitlines() if "GPU FFT library" in l]
    assert len(lines) == 1 and lines[0].startswith("WARNING") and result["file"] in lines[0]
    assert "differ from numpy's by more than 0.001" in lines[0]
