"""``python -m train preview SONG --video OUT.mp4``: watch and hear the show.

An MP4 (H.264 + AAC, yuv420p, ``+faststart``: plays in a browser and on a
phone) of the song's audio with the lights drawn in sync: one panel of bulbs
per show (a row on a wire, or along a house's roof), each bulb lit as
LightShowPi drives its pin (``onoff``: on or off; ``pwm``: the brightness),
a spectrogram strip with a cursor at the current time, and the time.

The lights are the :class:`train.show.methods.Show` objects that
:func:`train.show.preview.compute` made for the PNG and the report; nothing here
computes a level. Timing is LightShowPi's: it writes a chunk to the sound
card and then sets the lights from that chunk's levels, so a light changes
when its chunk starts to play. Video frame ``k`` is shown from ``k / fps``
seconds; it shows the chunk that is playing then,
``floor(k * rate / (fps * chunk_size))`` (exact integer arithmetic, any chunk
size and sample rate).

Speed: everything static (background, house, labels, spectrogram, every
bulb OFF) is drawn once; a frame is a copy of it plus the lit bulbs (a
precomputed ``lit - off`` patch times the pin value), a 2-pixel cursor and
the time from pre-rendered glyphs. Raw RGB frames go to ffmpeg's stdin.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import ffmpeg as ffmpeg_mod
from .drawing import (RGB, Bulb, Glyphs, bulb_patches, clock, load_font, min_distance,
                      spectrogram_image)
from .mp4 import encode

if TYPE_CHECKING:  # only for hints: the video takes what preview.compute made
    from .methods import Show
    from .preview import Song

#: C9 multicolour Christmas bulbs: red, green, gold, blue, orange (repeated for more channels).
CHRISTMAS: Tuple[RGB, ...] = ((255, 43, 43), (32, 208, 80), (255, 200, 48), (58, 128, 255),
                              (255, 138, 28))
LAYOUTS = ("row", "house")

SKY_TOP, SKY_BOTTOM = (6, 9, 22), (18, 22, 44)
HEADER = (10, 12, 26)
TEXT, DIM_TEXT = (235, 235, 240), (150, 155, 175)
WIRE, HOUSE_LINE = (18, 60, 30), (92, 100, 130)


@dataclass
class Style:
    """How the video looks: size [px], frame rate [1/s], layout and bulb colours."""

    width: int = 960
    height: int = 540
    fps: int = 25
    layout: str = "row"
    colors: Sequence[RGB] = CHRISTMAS

    def __post_init__(self) -> None:
        if self.width % 2 or self.height % 2 or self.width < 160 or self.height < 90:
            raise ValueError("video size must be even and at least 160x90, got %dx%d"
                             % (self.width, self.height))
        if not 1 <= int(self.fps) <= 120:
            raise ValueError("fps must be 1..120, got %r" % self.fps)
        if self.layout not in LAYOUTS:
            raise ValueError("layout must be one of %s, got %r" % (LAYOUTS, self.layout))
        if not self.colors:
            raise ValueError("at least one bulb colour is needed")


@dataclass
class Panel:
    """One show to draw: a label and its pins, float ``(n_chunks, channels)`` in [0, 1]."""

    label: str
    pins: np.ndarray


def frame_chunks(n_frames: int, fps: int, rate: int, chunk_size: int, n_chunks: int) -> np.ndarray:
    """The chunk playing at each video frame's start, int ``(n_frames,)``.

    Frame ``k`` starts at ``k / fps`` [s], i.e. at sample ``k * rate / fps``;
    LightShowPi shows chunk ``i`` from sample ``i * chunk_size`` on.
    Frames past the last chunk keep showing it.
    """
    k = np.arange(int(n_frames), dtype=np.int64)
    return np.minimum(k * int(rate) // (int(fps) * int(chunk_size)), max(n_chunks - 1, 0))


def frame_count(n_samples: int, rate: int, fps: int) -> int:
    """Frames that cover ``n_samples`` of audio: ``ceil(n_samples * fps / rate)``."""
    return max(1, -(-int(n_samples) * int(fps) // int(rate)))


def parse_colors(text: str) -> Tuple[RGB, ...]:
    """``"red,green,#ffc830"`` -> RGB tuples (names or hex, as Pillow reads them)."""
    from PIL import ImageColor

    out = []
    for item in (s.strip() for s in text.split(",")):
        if not item:
            continue
        try:
            out.append(tuple(ImageColor.getrgb(item))[:3])
        except ValueError:
            raise ValueError("unknown colour %r (use names like 'red' or hex like '#ffc830')" % item)
    if not out:
        raise ValueError("no colours in %r" % text)
    return tuple(out)


# ---------------------------------------------------------------- the frames

class Renderer:
    """Draws the video's frames.

    :param panels: the shows, top to bottom.
    :param spectrum: the song's feature frames ``(n_chunks, 513)`` (log10 power).
    :param n_samples: the song's length [frames of audio]; ``rate`` [Hz].
    :param chunk_size: LightShowPi's ``chunk_size`` [frames of audio per row].
    """

    def __init__(self, panels: Sequence[Panel], spectrum: np.ndarray, n_samples: int, rate: int,
                 chunk_size: int, title: str, style: Optional[Style] = None) -> None:
        from PIL import Image, ImageDraw

        if not panels:
            raise ValueError("nothing to draw: no shows")
        style = style or Style()
        self.style, self.rate, self.chunk_size = style, int(rate), int(chunk_size)
        self.seconds = n_samples / float(rate)
        self.pins = [np.clip(np.asarray(p.pins, dtype=np.float32), 0.0, 1.0) for p in panels]
        n_chunks = min(len(p) for p in self.pins)
        self.n_frames = frame_count(n_samples, rate, style.fps)
        self.chunks = frame_chunks(self.n_frames, style.fps, rate, chunk_size, n_chunks)

        W, H, s = style.width, style.height, style.height / 540.0
        sky = np.linspace(0, 1, H)[:, None, None]
        bg = (np.array(SKY_TOP) * (1 - sky) + np.array(SKY_BOTTOM) * sky)
        base = np.broadcast_to(bg, (H, W, 3)).round().astype(np.uint8).copy()
        margin = int(round(16 * s))
        head = int(round(40 * s))
        base[:head] = HEADER

        # spectrogram strip along the bottom
        caption_h = int(round(22 * s))
        self.strip = (H - caption_h - int(round(96 * s)), H - caption_h, margin, W - margin)
        sy0, sy1, sx0, sx1 = self.strip
        base[sy0:sy1, sx0:sx1] = spectrogram_image(spectrum, rate, sx1 - sx0, sy1 - sy0)

        img = Image.fromarray(base)
        draw = ImageDraw.Draw(img)
        draw.text((margin, int(9 * s)), title, font=load_font(17 * s), fill=TEXT)
        draw.text((sx0, sy1 + int(4 * s)), "spectrogram, 30 Hz - %g kHz (log); the white line is now"
                  % (min(16000, rate / 2) / 1000), font=load_font(12 * s), fill=DIM_TEXT)

        # the panels share the space between header and strip
        top, bottom = head + int(6 * s), sy0 - int(10 * s)
        step = (bottom - top) / len(panels)
        label_font, number_font = load_font(15 * s), load_font(11 * s)
        rects = []
        for j, panel in enumerate(panels):
            py0, py1 = int(top + j * step), int(top + (j + 1) * step)
            draw.text((margin, py0), panel.label, font=label_font, fill=TEXT)
            rects.append((margin, py0 + int(22 * s), W - margin, py1))
            if j:
                draw.line([(margin, py0 - int(3 * s)), (W - margin, py0 - int(3 * s))],
                          fill=(40, 44, 70), width=1)
        places = [self._place(draw, rect, p.shape[1], s) for rect, p in zip(rects, self.pins)]
        for (points, core, _glow), rect in zip(places, rects):
            for c, (x, y) in enumerate(points):
                label = str(c + 1)
                w = draw.textlength(label, font=number_font)
                draw.text((x - w / 2, y + core + 3 * s), label, font=number_font, fill=DIM_TEXT)
        base = np.asarray(img).copy()

        self.bulbs: List[List[Bulb]] = []
        for points, core, glow in places:
            self.bulbs.append([bulb_patches(x, y, core, glow, style.colors[c % len(style.colors)], base)
                               for c, (x, y) in enumerate(points)])
        self.background = base
        self.glyphs = Glyphs(int(20 * s), TEXT, HEADER)
        self.clock_at = (W - margin, max(0, (head - self.glyphs.height) // 2))
        self.total = clock(self.seconds)
        self._out = np.empty_like(base)

    def _place(self, draw, rect: Tuple[int, int, int, int], n: int,
               s: float) -> Tuple[List[Tuple[float, float]], float, float]:
        """Bulb centres [px], core and glow radius [px] of ``n`` bulbs in ``rect`` (and
        draw the wire or the house they hang on)."""
        x0, y0, x1, y1 = rect
        w, h = x1 - x0, y1 - y0
        if self.style.layout == "row":
            spacing = w / n
            core = max(2.0, min(spacing * 0.2, h * 0.16, 26 * s))
            wire = y0 + h / 2 - 1.5 * core
            xs = [x0 + spacing * (i + 0.5) for i in range(n)]
            points = [(x, wire + 1.9 * core) for x in xs]
            # the wire sags a little between the sockets
            line = []
            for a, b in zip([x0] + xs, xs + [x1]):
                for u in np.linspace(0, 1, 12):
                    line.append((a + (b - a) * u, wire + 0.35 * core * 4 * u * (1 - u)))
            draw.line(line, fill=WIRE, width=max(1, int(3 * s)))
            for x, y in points:
                draw.rectangle([x - 0.35 * core, wire - 1, x + 0.35 * core, y - 0.8 * core],
                               fill=(30, 34, 30))
            glow = min(2.6 * core, spacing / 2, h / 2)
        else:
            hw = min(0.62 * w, 2.4 * h)
            cx = x0 + w / 2
            peak, eave = y0 + 0.10 * h, y0 + 0.46 * h
            over = 0.05 * hw
            left, right = cx - hw / 2, cx + hw / 2
            lw = max(1, int(2 * s))
            draw.line([(left - over, eave), (cx, peak), (right + over, eave), (left - over, eave)],
                      fill=HOUSE_LINE, width=lw)
            draw.rectangle([left, eave, right, y1 - 2], outline=HOUSE_LINE, width=lw)
            wall = y1 - 2 - eave
            dw = 0.12 * hw
            draw.rectangle([cx - dw / 2, y1 - 2 - 0.6 * wall, cx + dw / 2, y1 - 2],
                           outline=HOUSE_LINE, width=lw)
            for wx in (left + 0.22 * hw, right - 0.22 * hw):
                ww = 0.14 * hw
                draw.rectangle([wx - ww / 2, eave + 0.25 * wall, wx + ww / 2, eave + 0.25 * wall + 0.4 * ww],
                               fill=(54, 48, 30), outline=HOUSE_LINE, width=lw)
            # bulbs evenly along the roof edge: left eave -> peak -> right eave
            a, b, c = np.array([left - over, eave]), np.array([cx, peak]), np.array([right + over, eave])
            half = float(np.hypot(*(b - a)))
            points = []
            for i in range(n):
                d = (i + 0.5) / n * 2 * half
                p = a + (b - a) * d / half if d <= half else b + (c - b) * (d - half) / half
                points.append((float(p[0]), float(p[1])))
            spacing = 2 * half / n
            core = max(2.0, min(spacing * 0.22, h * 0.09, 22 * s))
            glow = min(2.6 * core, spacing / 2, h * 0.3)
        glow = max(core + 1.0, min(glow, min_distance(points) / 2))
        return points, core, glow

    def frame(self, k: int) -> np.ndarray:
        """Frame ``k`` (shown from ``k / fps`` s): uint8 ``(height, width, 3)``, C-contiguous.

        The returned array is reused by the next call.
        """
        out = self._out
        np.copyto(out, self.background)
        i = int(self.chunks[k])
        for pins, bulbs in zip(self.pins, self.bulbs):
            row = pins[min(i, len(pins) - 1)]
            for c in np.flatnonzero(row > 0):
                bulb = bulbs[c]
                region = out[bulb.y0:bulb.y1, bulb.x0:bulb.x1]
                v = float(row[c])
                add = bulb.delta if v >= 1.0 else np.round(bulb.delta * v).astype(np.int16)
                # additive, so neighbouring glows that meet add up instead of cutting each other
                region[...] = np.clip(region.astype(np.int16) + add, 0, 255)
        t = k / float(self.style.fps)
        sy0, sy1, sx0, sx1 = self.strip
        x = sx0 + int(round(min(t / self.seconds, 1.0) * (sx1 - sx0 - 2))) if self.seconds else sx0
        out[sy0:sy1, x:x + 2] = 255
        self.glyphs.paste(out, "%s / %s" % (clock(min(t, self.seconds)), self.total), *self.clock_at)
        return out

    def still(self, path: str, seconds: float) -> str:
        """Write the frame showing ``seconds`` [s] as a PNG; returns ``path``."""
        from PIL import Image

        k = min(int(math.floor(seconds * self.style.fps + 1e-9)), self.n_frames - 1)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        Image.fromarray(self.frame(max(k, 0))).save(path, optimize=True)
        return path


# ---------------------------------------------------------------- from the shows

def renderer_for(song: "Song", shows: Dict[str, "Show"], chunk_size: int, labels: Sequence[str],
                 title: str, style: Optional[Style] = None) -> Renderer:
    """A :class:`Renderer` of ``shows`` (name -> :class:`train.show.methods.Show`, drawn in
    order, labelled by ``labels``) for ``song`` (a :class:`train.show.preview.Song`)."""
    from lightshowpi_autoencoder import features as F

    feats, _silent = F.song_features(song.pcm, song.rate, chunk_size)
    panels = [Panel(label, show.pins) for label, show in zip(labels, shows.values())]
    return Renderer(panels, feats, song.pcm.shape[0], song.rate, chunk_size, title, style)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The preview command's video options."""
    g = p.add_argument_group("video")
    g.add_argument("--video", metavar="OUT.mp4", default=None,
                   help="also write an MP4 of the song with the lights drawn in sync")
    g.add_argument("--still", metavar="SECONDS", type=float, default=None,
                   help="also write one frame of that video, at SECONDS, as OUT/<song>.still.png")
    g.add_argument("--compare", action="store_true",
                   help="draw LightShowPi's buckets (and the PCA) beneath the model's show")
    g.add_argument("--layout", choices=LAYOUTS, default="row",
                   help="bulbs on a wire in a row, or along a house's roof (default %(default)s)")
    g.add_argument("--colors", default=None, metavar="C1,C2,...",
                   help="bulb colours, names or hex, repeated over the channels "
                   "(default: Christmas red, green, gold, blue, orange)")
    g.add_argument("--fps", type=int, default=25, help="video frame rate (default %(default)s)")
    g.add_argument("--size", default="960x540", metavar="WxH",
                   help="video size in pixels, even numbers (default %(default)s)")
    g.add_argument("--ffmpeg", default=None, metavar="PATH",
                   help="ffmpeg to use ('bundled' = imageio-ffmpeg's; default: the system's, "
                   "else imageio-ffmpeg's)")


def style_from(args: argparse.Namespace) -> Style:
    """:class:`Style` from the options; raises ValueError naming the bad option."""
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise ValueError("--size must look like 960x540, got %r" % args.size)
    colors = parse_colors(args.colors) if args.colors else CHRISTMAS
    return Style(width, height, args.fps, args.layout, colors)


def run(args: argparse.Namespace, song: "Song", shows: Dict[str, "Show"], chunk_size: int,
        pin_mode: str, labels: Dict[str, str], model_name: str) -> int:
    """Write the video and/or still the options ask for; 0, or 2 with one message on stderr."""
    if args.video is None and args.still is None:
        return 0
    try:
        style = style_from(args)
    except ValueError as exc:
        print("preview: %s" % exc, file=sys.stderr)
        return 2
    names = list(shows) if args.compare else list(shows)[:1]
    chosen = {n: shows[n] for n in names}
    texts = [labels.get(n, n) + (" - model %s" % model_name if n == "encoder" else "") for n in names]
    chunk_ms = 1000.0 * chunk_size / song.rate
    title = "%s   %s pins, chunk %d (%.1f ms)" % (song.name, pin_mode, chunk_size, chunk_ms)
    renderer = renderer_for(song, chosen, chunk_size, texts, title, style)
    stem = os.path.splitext(song.name)[0]
    if args.still is not None:
        print("wrote %s" % renderer.still(os.path.join(args.out, stem + ".still.png"), args.still))
    if args.video is None:
        return 0
    try:
        ff = ffmpeg_mod.find(args.ffmpeg)
        print("video: %d frames at %d fps, %dx%d, encoding with %s"
              % (renderer.n_frames, style.fps, style.width, style.height, ff.describe()))
        started = time.monotonic()
        encode(args.video, renderer, song.pcm, song.rate, ff)
    except ffmpeg_mod.FfmpegError as exc:
        print("preview: %s" % exc, file=sys.stderr)
        return 2
    took = time.monotonic() - started
    print("wrote %s (%.1f s of video rendered in %.1f s, %.2f x its play time)"
          % (args.video, song.seconds, took, took / max(song.seconds, 1e-9)))
    return 0
