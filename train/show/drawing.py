"""The video's pixels: fonts, the spectrogram's colour map, a bulb's glow patch,
pre-rendered digits for the clock (:class:`Glyphs`). Pure drawing: no timing, no show.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Dict, Sequence, Tuple

import numpy as np

RGB = Tuple[int, int, int]


@dataclass
class Bulb:
    """One drawn bulb: centre ``(x, y)`` [px], its patch ``[y0:y1, x0:x1]`` and the
    change from OFF to fully ON there (int16 ``(h, w, 3)``); ``on``/``off`` are
    the centre's colours."""

    x: int
    y: int
    y0: int
    y1: int
    x0: int
    x1: int
    delta: np.ndarray
    on: RGB
    off: RGB


def load_font(size: int, mono: bool = False):
    """DejaVu from matplotlib's data (a preview dependency), else Pillow's built-in font."""
    import importlib.util
    from PIL import ImageFont

    spec = importlib.util.find_spec("matplotlib")
    if spec and spec.submodule_search_locations:
        name = "DejaVuSansMono.ttf" if mono else "DejaVuSans.ttf"
        path = os.path.join(list(spec.submodule_search_locations)[0], "mpl-data", "fonts", "ttf", name)
        if os.path.isfile(path):
            return ImageFont.truetype(path, max(6, int(size)))
    try:
        return ImageFont.load_default(size=max(6, int(size)))
    except TypeError:  # Pillow < 10.1: one fixed size
        return ImageFont.load_default()


def colormap(values: np.ndarray) -> np.ndarray:
    """``values`` in [0, 1] -> uint8 RGB with matplotlib's magma (the PNG's colours)."""
    try:
        from matplotlib import colormaps
        lut = (colormaps["magma"](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)
    except ImportError:
        ramp = np.linspace(0, 1, 256)[:, None]
        lut = (np.clip(np.hstack([ramp * 1.4, ramp ** 2, 0.5 * ramp + 0.2 * (1 - ramp)]), 0, 1)
               * 255).astype(np.uint8)
    return lut[np.clip((values * 255).round().astype(np.intp), 0, 255)]


def spectrogram_image(feats: np.ndarray, rate: float, width: int, height: int) -> np.ndarray:
    """The song's spectrogram as uint8 RGB ``(height, width, 3)``: time across, log frequency up.

    :param feats: the plugin's feature frames, log10 power ``(n_chunks, 513)``.
    :param rate: the audio's sample rate [Hz] (bin ``j`` is ``j * rate / 1024`` Hz).
    """
    feats = np.asarray(feats, dtype=np.float64)
    n, bins = feats.shape
    hz_per_bin = float(rate) / (2 * (bins - 1))
    top = min(16000.0, rate / 2.0)
    freqs = np.geomspace(30.0, top, height)[::-1]  # row 0 is the top: high frequencies
    rows = np.clip(np.round(freqs / hz_per_bin).astype(np.intp), 1, bins - 1)
    cols = np.minimum(((np.arange(width) + 0.5) / width * n).astype(np.intp), n - 1)
    kept = feats[:, 1:int(top / hz_per_bin) + 1]
    lo, hi = float(np.percentile(kept, 5)), float(kept.max())
    values = (feats[np.ix_(cols, rows)].T - lo) / max(hi - lo, 1e-9)
    return colormap(np.clip(values, 0, 1))


def bulb_patches(x: float, y: float, core: float, glow: float, color: RGB,
                  base: np.ndarray) -> Bulb:
    """Paint an OFF bulb into ``base`` (uint8 image, in place) and return the bulb with
    its OFF -> ON change: a flat core of the bulb's colour and an additive glow."""
    h, w = base.shape[:2]
    reach = int(math.ceil(glow)) + 1
    xi, yi = int(round(x)), int(round(y))
    x0, x1 = max(0, xi - reach), min(w, xi + reach + 1)
    y0, y1 = max(0, yi - reach), min(h, yi + reach + 1)
    yy, xx = np.mgrid[y0:y1, x0:x1]
    d = np.hypot(xx - xi, yy - yi)
    inside = np.clip(core - d + 0.5, 0.0, 1.0)[..., None]          # antialiased core disk
    ring = np.clip((d - core) / max(glow - core, 1e-6), 0.0, 1.0)
    halo = (0.55 * np.exp(-(3.0 * ring) ** 2) * np.clip((glow - d), 0.0, 1.0))[..., None]
    col = np.array(color, dtype=np.float64)
    off_rgb = 0.22 * col + 14.0
    region = base[y0:y1, x0:x1].astype(np.float64)
    off = region * (1 - inside) + off_rgb * inside
    lit = region * (1 - inside) + col * inside + halo * (1 - inside) * col
    off8 = np.clip(np.round(off), 0, 255).astype(np.uint8)
    lit8 = np.clip(np.round(lit), 0, 255).astype(np.uint8)
    base[y0:y1, x0:x1] = off8
    return Bulb(xi, yi, y0, y1, x0, x1, lit8.astype(np.int16) - off8.astype(np.int16),
                tuple(int(v) for v in np.clip(np.round(col), 0, 255)),
                tuple(int(v) for v in np.clip(np.round(off_rgb), 0, 255)))


def min_distance(points: Sequence[Tuple[float, float]]) -> float:
    p = np.asarray(points, dtype=np.float64)
    if len(p) < 2:
        return float("inf")
    d = np.hypot(p[:, None, 0] - p[None, :, 0], p[:, None, 1] - p[None, :, 1])
    return float(d[~np.eye(len(p), dtype=bool)].min())


class Glyphs:
    """Pre-rendered characters of a monospaced font on a fixed background, pasted by array copy."""

    def __init__(self, size: int, fg: RGB, bg: RGB, chars: str = "0123456789:./ -") -> None:
        from PIL import Image, ImageDraw

        face = load_font(size, mono=True)
        self.width = int(math.ceil(face.getlength("0")))
        ascent, descent = face.getmetrics()
        self.height = ascent + descent
        self.cells: Dict[str, np.ndarray] = {}
        for ch in chars:
            img = Image.new("RGB", (self.width, self.height), bg)
            ImageDraw.Draw(img).text((0, 0), ch, font=face, fill=fg)
            self.cells[ch] = np.asarray(img)

    def paste(self, out: np.ndarray, text: str, right: int, top: int) -> None:
        """Write ``text`` into ``out`` with its right edge at x = ``right``."""
        x = right - self.width * len(text)
        for ch in text:
            out[top:top + self.height, x:x + self.width] = self.cells.get(ch, self.cells[" "])
            x += self.width


def clock(seconds: float) -> str:
    """``m:ss.s``."""
    tenths = int(math.floor(max(seconds, 0.0) * 10 + 1e-9))
    return "%d:%02d.%d" % (tenths // 600, tenths // 10 % 60, tenths % 10)
