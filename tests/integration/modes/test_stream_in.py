"""``mode = stream-in``: a stream command's raw PCM through the plugin.

See conftest.py for how LightShowPi runs here.
"""

import numpy as np

from ..conftest import MARKS
from .conftest import expected_live_brightness, _host_line, _model_lines, _pipeline

pytestmark = MARKS


def test_stream_in_through_the_plugin(lsp, audio, tmp_path):
    """``mode = stream-in``: LightShowPi runs ``stream_command_string`` and reads its
    stdout; here ``sh -c 'cat clip.raw; ...'`` streams 3 s of 48 kHz stereo PCM, then
    prints LightShowPi's song delimiter twice on stderr so that
    ``stream_song_exit_count = 1`` ends the show. As the host does, the reads are
    chunk_size BYTES and the FFT is told ``input_channels = 1`` at
    ``input_sample_rate`` (48 kHz): the plugin gets those very bytes, so the
    lights must equal the plugin's levels for them under LightShowPi's running
    statistics. (EZ also passes the last, short read; Neo only full ones.)"""
    raw = str(tmp_path / "stream.raw")
    with open(raw, "wb") as fh:
        fh.write(audio.stereo48)
    command = ("sh -c 'cat %s; sleep 0.5; echo \"ICY-META: StreamTitle=one\" >&2; "
               "echo \"ICY-META: StreamTitle=two\" >&2'" % raw)
    run = lsp.run(audio.song("a", tmp_path), timeout=120, settings={"lightshow": {
        "mode": "stream-in", "stream_command_string": command, "stream_song_exit_count": 1}})
    assert "ICY-META: StreamTitle=two" in run.output
    fft = run.boot["fft"][-1]
    chunk = fft["chunk_size"]
    assert (fft["sample_rate"], fft["input_channels"]) == (48000, 1)
    models = _model_lines(run.log)
    assert len(models) == 1 and "audio 48000 Hz" in models[0]

    full_only = _host_line(lsp.source, "if len(data) == self.chunk_size:") is not None
    chunks = [audio.stereo48[i:i + chunk] for i in range(0, len(audio.stereo48), chunk)]
    want, calls = expected_live_brightness(lsp.home, chunks, _pipeline(48000, 1), full_only, chunk)
    assert run.boot["fft_calculate_levels_calls"] == calls > 0.9 * len(chunks)
    assert run.brightness.shape == want.shape, "%s rows lit, %s expected" % (
        run.brightness.shape, want.shape)
    assert np.abs(run.brightness - want).max() < 5e-3
    assert np.all((run.brightness > 0.5).mean(axis=0) > 0)
