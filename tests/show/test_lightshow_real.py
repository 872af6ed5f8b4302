"""train/show/lightshow.py against the real LightShowPi (both forks), through the harness.

Runs when ``LIGHTSHOWPI_HOME`` names one or more LightShowPi checkouts
(``os.pathsep``-separated, e.g. ``/tmp/lsp/ez:/tmp/lsp/neo``, extracted with
``../shared/lightshowpi-harness/setup_lsp.sh``); skipped otherwise, with the
reason. Each checkout runs with ``[audio_processing] use_gpu = False`` (the
numpy path; Neo has no other) at its own default chunk size, on a WAV written
here so LightShowPi's decoder (ffmpeg) and ours (libsndfile) read the very
same samples. Checked:

* ``createcache``: every ``.sync`` row equals :func:`bucket_levels` and rows
  0/1 equal :func:`cache_stats` (target <= 1e-3; measured ~1e-13);
* ``play`` with the cache: the brightness handed to the hardware layer equals
  :func:`brightness` and the pins equal :func:`lights_on`;
* ``play --fresh`` (first play): the same with mean 12 / std 1.5.
"""
import json
import os
import subprocess

import numpy as np
import pytest

from train.show import lightshow as L
from train.show.audio import decode, write_wav

from ..conftest import SAMPLE, SHARED

HARNESS = os.path.join(SHARED, "lightshowpi-harness", "run_lsp.sh")
CHECKOUTS = [p for p in os.environ.get("LIGHTSHOWPI_HOME", "").split(os.pathsep) if p]
TOLERANCE = 1e-3

pytestmark = pytest.mark.integration
if not CHECKOUTS:
    pytestmark = [pytest.mark.integration, pytest.mark.skip(
        reason="LIGHTSHOWPI_HOME is not set: no real LightShowPi checkout to compare with "
               "(extract one with ../shared/lightshowpi-harness/setup_lsp.sh)")]


def _harness(checkout, song, mode, out, overrides, *extra):
    if not os.path.isfile(HARNESS):
        pytest.skip("LightShowPi harness not found at %s" % HARNESS)
    if not os.path.isfile(os.path.join(checkout, "py", "synchronized_lights.py")):
        pytest.skip("%s is not a LightShowPi checkout" % checkout)
    r = subprocess.run([HARNESS, "--lsp", checkout, "--song", song, "--mode", mode, "--out", out,
                        "--overrides", overrides] + list(extra), capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    with open(os.path.join(out, "summary.json")) as fh:
        return json.load(fh)


@pytest.fixture(params=CHECKOUTS or ["none"], ids=lambda p: os.path.basename(p.rstrip("/")))
def checkout(request):
    return request.param


def test_bucket_levels_and_brightness_match_the_real_lightshowpi(checkout, tmp_path):
    pcm, rate = decode(SAMPLE)
    pcm = pcm[: 12 * rate]
    song = str(tmp_path / "sample.wav")
    write_wav(song, pcm, rate)
    overrides = tmp_path / "overrides.cfg"
    overrides.write_text("[audio_processing]\nuse_gpu = False\n")

    summary = _harness(checkout, song, "createcache", str(tmp_path / "cache"), str(overrides))
    chunk = int(summary["chunk_size"])
    sync_rows, sync_mean, sync_std = L.read_sync(str(tmp_path / ".sample.wav.sync"))
    ours = L.bucket_levels(pcm, rate, chunk)
    assert ours.shape == sync_rows.shape
    diff = float(np.max(np.abs(ours - sync_rows)))
    print("%s: chunk %d, %d rows, max |bucket_levels - .sync| = %.3g"
          % (checkout, chunk, len(ours), diff))
    assert diff <= TOLERANCE
    mean, std = L.cache_stats(ours)
    np.testing.assert_allclose(mean, sync_mean, atol=TOLERANCE)
    np.testing.assert_allclose(std, sync_std, atol=TOLERANCE)

    played = tmp_path / "play"
    _harness(checkout, song, "play", str(played), str(overrides))
    real = np.load(played / "brightness.npy")
    pins = np.load(played / "gpio.npy")
    bright = L.brightness(ours, mean, std)
    assert real.shape == bright.shape
    np.testing.assert_allclose(bright, real, atol=1e-6)
    assert np.array_equal(L.lights_on(bright), pins > 0.5)

    fresh = tmp_path / "fresh"
    _harness(checkout, song, "play", str(fresh), str(overrides), "--fresh")
    first = L.brightness(ours, *L.first_play_stats(ours.shape[1]))
    np.testing.assert_allclose(first, np.load(fresh / "brightness.npy"), atol=1e-6)
