"""``mode = audio-in``: 48 kHz mono from the capture device through the plugin.

See conftest.py for how LightShowPi runs here.
"""
import json

import numpy as np
import pytest

from ..conftest import MARKS
from .conftest import expected_live_brightness, _host_line, _model_lines, _pipeline

pytestmark = MARKS


def test_audio_in_48k_mono_through_the_plugin(lsp, audio, alsa_standin, tmp_path):
    """``mode = audio-in`` (LightShowPi's defaults: card "default", 48 kHz, mono):
    the capture device is the test's alsaaudio stand-in playing a 3 s clip (48 kHz
    mono PCM), period = chunk_size frames, then stopping the program as Ctrl+C
    would. Every chunk's lights must be LightShowPi's running-statistics rule
    applied to the plugin's levels for exactly those 48 kHz mono samples."""
    capture = str(tmp_path / "capture.raw")
    with open(capture, "wb") as fh:
        fh.write(audio.mono48)
    run = lsp.run(audio.song("a", tmp_path), settings={"lightshow": {"mode": "audio-in"}},
                  env={"PYTHONPATH": alsa_standin, "LSPAI_TEST_CAPTURE": capture}, timeout=120)
    assert run.boot["modules"]["alsaaudio"].startswith(alsa_standin)
    with open(capture + ".json") as fh:
        asked = json.load(fh)
    fft = run.boot["fft"][-1]
    chunk = fft["chunk_size"]
    assert (asked["rate"], asked["channels"], asked["periodsize"]) == (48000, 1, chunk)
    assert asked["periods_read"] == len(audio.mono48) // (2 * chunk)
    assert (fft["sample_rate"], fft["input_channels"]) == (48000, 1)

    line = _host_line(lsp.source, "if len(data) == self.chunk_size:")
    if run.boot["fft_calculate_levels_calls"] == 0 and line:
        pytest.skip(
            "%s: audio-in ran with autoencoder = on (no crash, %d periods read) but LightShowPi "
            "never computes levels: py/synchronized_lights.py line %d keeps a chunk only if "
            "len(data) == self.chunk_size, i.e. counts BYTES, while ALSA's read() returns "
            "chunk_size FRAMES (%d bytes for 16-bit mono); every chunk is dropped, no light "
            "changes, calculate_levels (plugin or buckets) is never called. A host bug in this "
            "fork's audio-in; stream-in (which reads chunk_size bytes) is unaffected"
            % (lsp.name, asked["periods_read"], line, 2 * chunk))

    models = _model_lines(run.log)
    assert len(models) == 1 and "trained at 44100 Hz" in models[0] and "audio 48000 Hz" in models[0]
    period = 2 * chunk                                   # bytes: 16-bit mono
    chunks = [audio.mono48[i:i + period] for i in range(0, asked["periods_read"] * period, period)]
    want, calls = expected_live_brightness(lsp.home, chunks, _pipeline(48000, 1), True, period)
    assert run.boot["fft_calculate_levels_calls"] == calls > 0.9 * len(chunks)
    assert run.brightness.shape == want.shape
    # EZ computes its spectrum with the GPU FFT (emulated), this process with numpy (1e-4 apart)
    assert np.abs(run.brightness - want).max() < 5e-3
    assert np.all((run.brightness > 0.5).mean(axis=0) > 0)
