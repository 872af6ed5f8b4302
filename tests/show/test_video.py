"""``python -m train preview --video``: the MP4 decoded back and checked against the show."""
import os
import re
import struct
import subprocess
from fractions import Fraction

import numpy as np
import pytest

from train import cli
from train.show import drawing, ffmpeg, methods, mp4, preview, video

from ..conftest import SAMPLE

SMALL = video.Style(width=480, height=270, fps=25)


def _ffmpeg():
    try:
        return ffmpeg.find()
    except ffmpeg.FfmpegError as exc:
        pytest.skip(str(exc))


def probe(ff, path):
    """Streams and duration from ``ffmpeg -i`` (no ffprobe: imageio-ffmpeg ships none)."""
    text = subprocess.run([ff.path, "-hide_banner", "-i", path], capture_output=True, text=True).stderr
    h, m, s = re.search(r"Duration: (\d+):(\d+):([\d.]+)", text).groups()
    streams = re.findall(r"Stream #\d+:\d+.*?: (Video|Audio): (\w+)(.*)", text)
    return {"duration": int(h) * 3600 + int(m) * 60 + float(s),
            "streams": [(kind, codec, rest) for kind, codec, rest in streams]}


def decode_frames(ff, path, style):
    """Every video frame as RGB uint8 ``(n, height, width, 3)`` (BT.709 limited range in)."""
    raw = subprocess.run([ff.path, "-v", "error", "-i", path, "-vf",
                          "scale=in_color_matrix=bt709:in_range=tv", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, style.height, style.width, 3)


def decode_audio_seconds(ff, path, rate):
    raw = subprocess.run([ff.path, "-v", "error", "-i", path, "-map", "0:a", "-f", "s16le",
                          "-ac", "1", "-ar", str(rate), "-"], capture_output=True, check=True).stdout
    return len(raw) / 2.0 / rate


def top_level_boxes(path):
    boxes, pos, size = [], 0, os.path.getsize(path)
    with open(path, "rb") as f:
        while pos < size:
            f.seek(pos)
            n, kind = struct.unpack(">I4s", f.read(8))
            if n == 1:
                n = struct.unpack(">Q", f.read(8))[0]
            boxes.append(kind.decode("latin-1"))
            pos += max(n, 8)
    return boxes


def lit_level(frame, bulb):
    """How lit a bulb looks in a frame: its centre (3x3 mean) projected from OFF (0) to ON (1)."""
    px = frame[bulb.y - 1:bulb.y + 2, bulb.x - 1:bulb.x + 2].reshape(-1, 3).mean(axis=0)
    on, off = np.array(bulb.on, float), np.array(bulb.off, float)
    return float(np.dot(px - off, on - off) / np.dot(on - off, on - off))


def mid_chunk_frames(renderer, lo=0.25, hi=0.75):
    """``(frame k, chunk i)`` for frames whose start ``k / fps`` lies in the middle part of
    chunk ``i`` (no boundary ambiguity); ``i`` worked out here, not taken from the renderer."""
    fps, rate, chunk = renderer.style.fps, renderer.rate, renderer.chunk_size
    keep = []
    for k in range(renderer.n_frames):
        pos = Fraction(k, fps) / Fraction(chunk, rate)  # chunk i plays from i * chunk / rate
        if lo <= pos - int(pos) <= hi and int(pos) < min(len(p) for p in renderer.pins):
            keep.append((k, int(pos)))
    return keep


# ---------------------------------------------------------------- timing

@pytest.mark.parametrize("rate,chunk,fps", [(44100, 2048, 25), (48000, 4096, 30),
                                            (22050, 1000, 24), (30000, 333, 7)])
def test_each_frame_shows_the_chunk_playing_when_it_starts(rate, chunk, fps):
    n_chunks = 40
    n_frames = video.frame_count(n_chunks * chunk - 5, rate, fps)
    got = video.frame_chunks(n_frames, fps, rate, chunk, n_chunks)
    assert Fraction(n_frames - 1, fps) < Fraction(n_chunks * chunk - 5, rate) <= Fraction(n_frames, fps)
    for k, i in enumerate(got):
        t = Fraction(k, fps)  # frame k is shown from k / fps
        assert i * Fraction(chunk, rate) <= t < (i + 1) * Fraction(chunk, rate), (k, i)
    assert got[0] == 0 and got.max() <= n_chunks - 1


def test_clock_text():
    assert drawing.clock(0) == "0:00.0" and drawing.clock(61.26) == "1:01.2"
    assert drawing.clock(599.99) == "9:59.9" and drawing.clock(-1) == "0:00.0"


# ---------------------------------------------------------------- frames, uncompressed

@pytest.mark.parametrize("layout,channels", [("row", 8), ("house", 8), ("row", 3), ("house", 13)])
def test_every_bulb_is_drawn_lit_exactly_when_its_pin_is(layout, channels):
    rng = np.random.default_rng(channels)
    pins = [(rng.random((30, channels)) < 0.4).astype(float), rng.random((30, channels))]
    pins[1][::3] = 0.0
    style = video.Style(480, 270, 10, layout)
    r = video.Renderer([video.Panel("onoff", pins[0]), video.Panel("pwm", pins[1])],
                       np.random.default_rng(0).normal(-6, 1, (30, 513)), 30 * 1024, 22050, 1024,
                       "title", style)
    assert [len(b) for b in r.bulbs] == [channels, channels]
    centres = [(b.x, b.y) for bulbs in r.bulbs for b in bulbs]
    assert len(set(centres)) == 2 * channels
    for k in range(r.n_frames):
        frame = r.frame(k)
        i = r.chunks[k]
        for p, bulbs in zip(pins, r.bulbs):
            for c, bulb in enumerate(bulbs):
                assert lit_level(frame, bulb) == pytest.approx(p[i, c], abs=0.02), (k, c)


def test_cursor_moves_with_the_song_time():
    r = video.Renderer([video.Panel("a", np.zeros((10, 8)))], np.full((10, 513), -6.0),
                       44100 * 4, 44100, 44100 * 4 // 10, "t", SMALL)
    sy0, sy1, sx0, sx1 = r.strip
    xs = []
    for k in (0, 25, 50, 99):
        white = np.flatnonzero((r.frame(k)[sy0 + 2, sx0:sx1] == 255).all(axis=1))
        xs.append(int(white[0]) if white.size else -1)
    width = sx1 - sx0 - 2
    assert xs == [0, round(width / 4), round(width / 2), round(width * 99 / 100)]


# ---------------------------------------------------------------- the MP4, decoded back

@pytest.fixture(scope="module")
def sample_song():
    return preview.load_song(SAMPLE, None, 8.0, 4.0)


@pytest.fixture(scope="module")
def model():
    return preview.load_model(None)


@pytest.mark.parametrize("pin_mode", ["onoff", "pwm"])
def test_mp4_plays_the_song_with_the_show_drawn_in_sync(tmp_path, sample_song, model, pin_mode):
    ff = _ffmpeg()
    settings = methods.ShowSettings(pin_mode=pin_mode)
    shows = preview.compute(sample_song, settings, model, None)
    r = video.renderer_for(sample_song, shows, settings.chunk_size, ["model", "buckets"], "t", SMALL)
    path = mp4.encode(str(tmp_path / "show.mp4"), r, sample_song.pcm, sample_song.rate, ff,
                        progress=False)
    info = probe(ff, path)
    kinds = {kind: (codec, rest) for kind, codec, rest in info["streams"]}
    # yuv420p (what browsers and phones decode), tagged BT.709 limited range, as encoded
    assert kinds["Video"][0] == "h264" and "yuv420p(tv, bt709" in kinds["Video"][1]
    assert kinds["Audio"][0] == "aac"
    assert abs(info["duration"] - sample_song.seconds) < 0.1
    assert abs(decode_audio_seconds(ff, path, sample_song.rate) - sample_song.seconds) < 0.1
    boxes = top_level_boxes(path)
    assert boxes.index("moov") < boxes.index("mdat")  # +faststart: plays while downloading

    frames = decode_frames(ff, path, SMALL)
    assert len(frames) == r.n_frames
    assert abs(len(frames) / SMALL.fps - sample_song.seconds) < 0.1
    seen = {name: [] for name in shows}
    for k, i in mid_chunk_frames(r):
        for (name, show), bulbs in zip(shows.items(), r.bulbs):
            for c, bulb in enumerate(bulbs):
                level, want = lit_level(frames[k], bulb), show.pins[i, c]
                seen[name].append(want)
                if pin_mode == "onoff":
                    assert (level > 0.5) == bool(want), (name, k, c, level)
                else:
                    assert level == pytest.approx(want, abs=0.1), (name, k, c)
    for name, wanted in seen.items():  # the check saw lights both ON and OFF
        assert min(wanted) < 0.5 < max(wanted), name
    if pin_mode == "pwm":
        assert any(0.1 < w < 0.9 for w in seen["buckets"])


def test_any_sample_rate_and_chunk_size(tmp_path, sample_song, model):
    """30 kHz (no AAC rate: the audio is resampled, the timing not) and 3000-frame chunks."""
    ff = _ffmpeg()
    n = int(sample_song.seconds * 30000)
    t = np.arange(n) / 30000.0
    src = np.arange(sample_song.pcm.shape[0]) / float(sample_song.rate)
    pcm = np.stack([np.interp(t, src, sample_song.pcm[:, ch]) for ch in range(2)], axis=1)
    song = preview.Song("odd.wav", pcm.round().astype(np.int16), 30000, np.zeros(0), "detector")
    settings = methods.ShowSettings(chunk_size=3000)
    shows = preview.compute(song, settings, model, None, ("buckets",))
    style = video.Style(320, 180, 30, "house")
    r = video.renderer_for(song, shows, 3000, ["buckets"], "t", style)
    path = mp4.encode(str(tmp_path / "odd.mp4"), r, song.pcm, song.rate, ff, progress=False)
    assert abs(probe(ff, path)["duration"] - song.seconds) < 0.1
    frames = decode_frames(ff, path, style)
    pins = shows["buckets"].pins
    checked = 0
    for k, i in mid_chunk_frames(r):
        for c, bulb in enumerate(r.bulbs[0]):
            assert (lit_level(frames[k], bulb) > 0.5) == bool(pins[i, c]), (k, c)
            checked += 1
    assert checked > 100


def test_the_bundled_ffmpeg_makes_a_playable_mp4(tmp_path):
    """What CI and machines without a system ffmpeg use: imageio-ffmpeg's static build."""
    try:
        ff = ffmpeg.bundled()
    except ffmpeg.FfmpegError as exc:
        pytest.skip("imageio-ffmpeg not usable here: %s" % exc)
    assert ff.source == "imageio-ffmpeg"
    pins = np.tile(np.eye(8), (3, 1))
    r = video.Renderer([video.Panel("a", pins)], np.full((24, 513), -6.0), 24 * 2048, 44100, 2048,
                       "t", SMALL)
    pcm = (np.sin(np.arange(24 * 2048) / 10.0)[:, None] * 8000).astype(np.int16)
    path = mp4.encode(str(tmp_path / "b.mp4"), r, pcm, 44100, ff, progress=False)
    info = probe(ff, path)
    assert [(k, c) for k, c, _ in info["streams"]] == [("Video", "h264"), ("Audio", "aac")]
    assert "yuv420p(tv, bt709" in info["streams"][0][2]
    assert abs(info["duration"] - 24 * 2048 / 44100) < 0.1
    frames = decode_frames(ff, path, SMALL)
    for k, i in mid_chunk_frames(r):
        lit = [lit_level(frames[k], b) > 0.5 for b in r.bulbs[0]]
        assert lit == list(pins[i] > 0)


def test_a_failing_ffmpeg_leaves_no_file_and_says_why(tmp_path):
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\necho 'Unknown encoder libx264' >&2\nexit 3\n")
    fake.chmod(0o755)
    r = video.Renderer([video.Panel("a", np.ones((50, 8)))], np.full((50, 513), -6.0), 50 * 2048,
                       44100, 2048, "t", SMALL)
    out = tmp_path / "x.mp4"
    with pytest.raises(ffmpeg.FfmpegError) as err:
        mp4.encode(str(out), r, np.zeros((50 * 2048, 2), np.int16), 44100,
                     ffmpeg.Ffmpeg(str(fake), "given", "fake"), progress=False)
    assert "Unknown encoder libx264" in str(err.value) and "exit 3" in str(err.value)
    assert not out.exists() and not (tmp_path / "x.mp4.part").exists()


def test_no_ffmpeg_says_what_to_install(monkeypatch):
    monkeypatch.setattr(ffmpeg, "system_candidate", lambda: None)
    monkeypatch.setattr(ffmpeg, "bundled_candidate", lambda: (None, "the imageio-ffmpeg package is not installed"))
    ffmpeg.find.cache_clear()
    try:
        with pytest.raises(ffmpeg.FfmpegError) as err:
            ffmpeg.find()
    finally:
        ffmpeg.find.cache_clear()
    text = str(err.value)
    assert "no ffmpeg on PATH" in text and "imageio-ffmpeg package is not installed" in text
    assert "apt install ffmpeg" in text and "pip install imageio-ffmpeg" in text


# ---------------------------------------------------------------- the command

def test_preview_command_writes_video_and_still(tmp_path, capsys):
    ff = _ffmpeg()
    out = tmp_path / "out"
    rc = cli.main(["preview", "--out", str(out), "--duration", "3", "--video", str(out / "v.mp4"),
                   "--compare", "--layout", "house", "--colors", "red,#00ff00", "--size", "320x180",
                   "--still", "1.5", "--ffmpeg", ff.path])
    text = capsys.readouterr()
    assert rc == 0, text.err
    assert "encoding with %s" % ff.path in text.out
    assert (out / "sugar-plum-fairy_excerpt.still.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "sugar-plum-fairy_excerpt.preview.png").is_file()
    assert not (out / "v.mp4.part").exists()
    assert abs(probe(ff, str(out / "v.mp4"))["duration"] - 3.0) < 0.1


@pytest.mark.parametrize("extra,message", [(["--ffmpeg", "/nonexistent/ffmpeg"], "apt install ffmpeg"),
                                           (["--colors", "red,notacolour"], "notacolour"),
                                           (["--size", "321x180"], "even")])
def test_preview_command_reports_video_problems(tmp_path, capsys, extra, message):
    rc = cli.main(["preview", "--out", str(tmp_path), "--duration", "1",
                   "--video", str(tmp_path / "v.mp4")] + extra)
    err = capsys.readouterr().err
    assert rc == 2 and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "v.mp4").exists()
