"""``python -m train preview``: see a song's light show without a Pi.

The song (default: the bundled sample) goes through the plugin's encoder and
through LightShowPi's own frequency buckets (and an 8-component PCA when
``--pca-songs`` are given); each method's level rows go through LightShowPi's
brightness rule (per-channel mean/std, SD_low, SD_high, attenuate, decay) and
pin rule (onoff: ON when brightness > 0.5; pwm: the brightness). Output:

* ``OUT/<song>.preview.png``: the spectrogram on top, then one raster per
  method (one row per light, time across, ON dark);
* a printed summary of the show-quality numbers (:mod:`train.show.metrics`);
* with ``--live``, the 8 lights of each method in the terminal in time with
  the music (no audio is played), like LightShowPi's terminal mode.

Imports no TensorFlow: the encoder runs with the runtime's interpreter.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, TextIO

import numpy as np

from . import lightshow, methods, metrics
from .onsets import detect_onsets

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE = os.path.join(REPO, "samples", "sugar-plum-fairy_excerpt.ogg")
LABELS = {"encoder": "Encoder (this plugin)", "buckets": "LightShowPi frequency buckets",
          "pca": "PCA, 8 components (linear baseline)"}


# ---------------------------------------------------------------- shared with report

def add_show_arguments(p: argparse.ArgumentParser) -> None:
    """LightShowPi's settings (same names and defaults as its config files) and the model."""
    from lightshowpi_autoencoder import modelfile

    p.add_argument("--model", default=None,
                   help="encoder model (.tflite; default: the shipped %s)"
                   % os.path.relpath(modelfile.default_model_path(), os.getcwd()))
    p.add_argument("--chunk-size", type=int, default=lightshow.CHUNK_SIZE,
                   help="[audio_processing] chunk_size, frames per row (default %(default)s; "
                   "LightShowPi Neo uses 4096)")
    p.add_argument("--sd-low", type=float, default=lightshow.SD_LOW,
                   help="[lightshow] SD_low (default %(default)s)")
    p.add_argument("--sd-high", type=float, default=lightshow.SD_HIGH,
                   help="[lightshow] SD_high (default %(default)s)")
    p.add_argument("--attenuate-pct", type=float, default=0.0,
                   help="[lightshow] attenuate_pct (default %(default)s)")
    p.add_argument("--decay-factor", type=float, default=0.0,
                   help="[lightshow] decay_factor (default %(default)s)")
    p.add_argument("--pin-mode", choices=("onoff", "pwm"), default="onoff",
                   help="[hardware] pin_modes (default %(default)s: ON when brightness > 0.5)")
    p.add_argument("--stats", choices=methods.STATS, default="cached",
                   help="per-channel mean/std: 'cached' = the song's own, as LightShowPi "
                   "uses once the .sync cache exists (default); 'first-play' = 12/1.5")
    p.add_argument("--out", default="out", help="output folder (default %(default)s)")


def settings_from(args: argparse.Namespace) -> methods.ShowSettings:
    return methods.ShowSettings(chunk_size=args.chunk_size, sd_low=args.sd_low,
                                sd_high=args.sd_high, attenuate_pct=args.attenuate_pct,
                                decay_factor=args.decay_factor, pin_mode=args.pin_mode,
                                stats=args.stats)


def load_model(path: Optional[str]):
    """The encoder model (default: the shipped one). Raises PluginError with the fix."""
    from lightshowpi_autoencoder import modelfile

    return modelfile.load(path or modelfile.default_model_path())


def fmt(value, digits: int = 2) -> str:
    """A number for a table cell; ``n/a`` for None/NaN."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value) if value else "-"
    return "%.*f" % (digits, value)


#: (key, column title) of the summary table, in order: what a viewer sees, on ON/OFF states.
COLUMNS = (("onset_f_minus_chance", "rhythm"), ("short_on_fraction", "ON<100ms"),
           ("mean_abs_r", "mean|r|"), ("stuck", "stuck ch"), ("loudness_rho", "loud->light"),
           ("dark", "dark"), ("consistency", "consistent"), ("on_fraction", "ON share"),
           ("section_accuracy", "sections"), ("register", "register"))
#: columns only some songs have (synthetic section songs, the register melody)
OPTIONAL = ("section_accuracy", "register")


def summary_table(rows: Dict[str, Dict[str, object]], sections: bool) -> str:
    """Plain-text table: one line per method (``sections``: show the optional columns
    that any row has)."""
    cols = [c for c in COLUMNS if c[0] not in OPTIONAL
            or sections and any(r.get(c[0]) is not None for r in rows.values())]
    head = ["method"] + [t for _, t in cols]
    body = [[name] + [fmt(row[k]) for k, _ in cols] for name, row in rows.items()]
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    line = lambda r: "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(head), "  ".join("-" * w for w in widths)] + [line(r) for r in body])


# ---------------------------------------------------------------- the song

@dataclass
class Song:
    """A decoded song, its music onsets and (synthetic songs) its ground truth."""

    name: str
    pcm: np.ndarray           # int16 (frames, channels)
    rate: int
    onsets: np.ndarray        # [s]
    onset_source: str         # "exact" or "detector"
    sections: Optional[tuple] = None  # (labels, instances) per second, synthetic songs
    notes: Optional[np.ndarray] = None  # (start [s], midi, duration [s]), the register melody
    _listening: Dict[int, object] = field(default_factory=dict, repr=False)

    @property
    def seconds(self) -> float:
        return self.pcm.shape[0] / float(self.rate)

    def listening(self, chunk_size: int):
        """The sound on a show's chunk grid (:class:`train.show.listening.Listening`), made once."""
        if chunk_size not in self._listening:
            from .listening import Listening
            self._listening[chunk_size] = Listening(self.pcm, self.rate, chunk_size)
        return self._listening[chunk_size]


def melody_song(seed: int, seconds: float = 60.0) -> Song:
    """The register metric's synthetic melody (:func:`train.show.synth.make_melody`) as a Song."""
    from .synth import make_melody
    m = make_melody(seed, seconds)
    return Song(m.name, m.pcm, m.rate, m.onsets, "exact", notes=m.notes)


def load_song(path: Optional[str], synthetic: Optional[int], start: float,
              duration: Optional[float]) -> Song:
    """A file (detector onsets) or a synthetic song (exact onsets), optionally sliced [s]."""
    if synthetic is not None:
        from .synth import make_song
        s = make_song(synthetic)
        pcm, rate, name, onsets, source = s.pcm, s.rate, s.name, s.onsets, "exact"
        labels = s.second_labels()
    else:
        from .audio import decode
        pcm, rate = decode(path)
        name, onsets, source, labels = os.path.basename(path), None, "detector", None
    lo = int(round(max(0.0, start) * rate))
    hi = pcm.shape[0] if duration is None else min(pcm.shape[0], lo + int(round(duration * rate)))
    sliced = lo > 0 or hi < pcm.shape[0]
    pcm = np.ascontiguousarray(pcm[lo:hi])
    if onsets is None:
        onsets = detect_onsets(pcm, rate)
    else:
        onsets = onsets[(onsets >= lo / rate) & (onsets < hi / rate)] - lo / rate
    if labels is not None and sliced:
        labels = None  # section instances are whole seconds of the full song only
    return Song(name, pcm, int(rate), onsets, source, labels)


def compute(song: Song, settings: methods.ShowSettings, model, pca: Optional[methods.Pca],
            method_names: Sequence[str] = ("encoder", "buckets", "pca"),
            channels: Optional[int] = None) -> Dict[str, methods.Show]:
    """Each method's show of ``song`` (``pca`` only when a fitted PCA is given).

    :param channels: lights of the buckets' show (default: as many as the model drives, or
        :data:`methods.N_CHANNELS` without a model).
    """
    if channels is None:   # LightShowPi makes as many buckets as it has lights
        channels = model.channels if model is not None else methods.N_CHANNELS
    shows: Dict[str, methods.Show] = {}
    for name in method_names:
        if name == "encoder":
            rows = methods.encoder_rows(song.pcm, song.rate, model, settings.chunk_size)
        elif name == "buckets":
            rows = methods.bucket_rows(song.pcm, song.rate, settings.chunk_size, num_bins=channels)
        elif name == "pca":
            if pca is None:
                continue
            rows = methods.pca_rows(song.pcm, song.rate, pca, settings.chunk_size)
        else:
            raise ValueError("unknown method %r" % name)
        shows[name] = methods.show(rows, settings)
    return shows


def score(song: Song, shows: Dict[str, methods.Show], chunk_seconds: float) -> Dict[str, Dict[str, object]]:
    """Every metric (:func:`train.show.metrics.show_metrics`) of each method's show, on its pins'
    ON/OFF states."""
    listening = song.listening(int(round(chunk_seconds * song.rate)))
    return {name: metrics.show_metrics(s.brightness, chunk_seconds, song.onsets, song.onset_source,
                                       song.seconds, song.sections, listening=listening,
                                       notes=song.notes)
            for name, s in shows.items()}


# ---------------------------------------------------------------- the PNG

def draw(path: str, song: Song, shows: Dict[str, methods.Show], rows: Dict[str, Dict[str, object]],
         settings: methods.ShowSettings, subtitle: str = "") -> str:
    """Write the preview PNG: spectrogram on top, one raster per method. Returns ``path``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from lightshowpi_autoencoder import features as F

    chunk_s = lightshow.chunk_seconds(settings.chunk_size, song.rate)
    feats, _silent = F.song_features(song.pcm, song.rate, settings.chunk_size)
    n = feats.shape[0]
    fig, axes = plt.subplots(1 + len(shows), 1, sharex=True, figsize=(14, 2.6 + 1.9 * len(shows)),
                             gridspec_kw={"height_ratios": [1.6] + [1.0] * len(shows)})
    ax = axes[0]
    freqs = F.bin_frequencies(song.rate)
    keep = (freqs >= 20) & (freqs <= min(16000, song.rate / 2))
    t_edges = np.arange(n + 1) * chunk_s
    f_edges = np.concatenate([freqs[keep] - song.rate / F.FRAME / 2, [freqs[keep][-1] + song.rate / F.FRAME / 2]])
    mesh = ax.pcolormesh(t_edges, np.maximum(f_edges, 15.0), 10 * feats[:, keep].T,
                         cmap="magma", shading="flat", rasterized=True,
                         vmin=10 * float(np.percentile(feats[:, keep], 5)),
                         vmax=10 * float(feats[:, keep].max()))
    ax.set_yscale("log")
    ax.set_ylim(20, min(16000, song.rate / 2))
    ax.set_ylabel("frequency [Hz]")
    onset_label = ("music onsets (exact)" if song.onset_source == "exact"
                   else "music onsets (detector)")
    ax.vlines(song.onsets, 20, 28, color="cyan", lw=0.8, label=onset_label)
    ax.legend(loc="upper right", fontsize=8, framealpha=0.6)
    ax.set_title("%s: spectrogram (log10 power, the plugin's feature frames)%s"
                 % (song.name, subtitle))
    fig.colorbar(mesh, ax=ax, label="power [dB FS]", pad=0.01, fraction=0.02)
    for ax, (name, show) in zip(axes[1:], shows.items()):
        pins = show.pins
        im = ax.imshow(pins.T, aspect="auto", cmap="Greys", vmin=0, vmax=1, interpolation="nearest",
                       extent=(0, n * chunk_s, pins.shape[1] + 0.5, 0.5))
        r = rows[name]
        ax.set_title("%s: lights %s   |   rhythm %s, flashes <100 ms %s, mean|r| %s, "
                     "loud->light %s, dark %s, consistent %s, stuck %s"
                     % (LABELS.get(name, name), "ON = dark" if settings.pin_mode == "onoff"
                        else "PWM brightness (dark = bright)", fmt(r["onset_f_minus_chance"]),
                        fmt(r["short_on_fraction"]), fmt(r["mean_abs_r"]), fmt(r["loudness_rho"]),
                        fmt(r["dark"]), fmt(r["consistency"]), fmt(r["stuck"])),
                     fontsize=10)
        ax.set_ylabel("channel")
        ax.set_yticks(range(1, pins.shape[1] + 1))
        fig.colorbar(im, ax=ax, pad=0.01, fraction=0.02,
                     ticks=[0, 1] if settings.pin_mode == "onoff" else [0, 0.5, 1]).set_label(
                         "ON" if settings.pin_mode == "onoff" else "brightness")
    axes[-1].set_xlabel("time [s]   (one column per %d-frame chunk, %.1f ms; stats: %s; "
                        "SD_low %g, SD_high %g, attenuate %g%%, decay %g)"
                        % (settings.chunk_size, 1000 * chunk_s, settings.stats, settings.sd_low,
                           settings.sd_high, settings.attenuate_pct, settings.decay_factor))
    axes[-1].set_xlim(0, n * chunk_s)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# ---------------------------------------------------------------- the live view

SHADES = " ░▒▓█"


def render_lights(pins: Dict[str, np.ndarray], i: int, seconds: float, color: bool = True) -> List[str]:
    """The terminal lines for chunk ``i``: one line per method, 8 lamps each."""
    width = max(len(name) for name in pins)
    lines = []
    for name, p in pins.items():
        cells = []
        for b in p[i]:
            if color:
                level = int(round(232 + 23 * float(b)))  # xterm grey ramp: 232 (off) .. 255
                cells.append("\x1b[48;5;%dm    \x1b[0m" % level)
            else:
                cells.append(SHADES[int(round(float(b) * (len(SHADES) - 1)))] * 4)
        lines.append("%s  %s" % (name.ljust(width), " ".join(cells)))
    lines.append("t = %6.2f s" % seconds)
    return lines


def play_live(pins: Dict[str, np.ndarray], chunk_seconds: float, speed: float = 1.0,
              stream: TextIO = sys.stdout, clock: Callable[[], float] = time.monotonic,
              sleep: Callable[[float], None] = time.sleep, force: bool = False) -> int:
    """Show the lights chunk by chunk, each at ``i * chunk_seconds / speed`` after the start.

    Needs a terminal: when ``stream`` is not a tty (and not ``force``) nothing
    is shown and 0 is returned. Returns the number of frames drawn.
    """
    if not force and not (hasattr(stream, "isatty") and stream.isatty()):
        return 0
    n = min(len(p) for p in pins.values())
    height = len(pins) + 1
    start = clock()
    drawn = 0
    try:
        for i in range(n):
            due = start + i * chunk_seconds / max(speed, 1e-6)
            wait = due - clock()
            if wait > 0:
                sleep(wait)
            elif wait < -chunk_seconds and i + 1 < n:
                continue  # behind (slow terminal): drop frames to stay in time with the music
            if drawn:
                stream.write("\x1b[%dA" % height)
            stream.write("\n".join("\r" + line + "\x1b[K" for line in
                                   render_lights(pins, i, i * chunk_seconds, color=True)) + "\n")
            stream.flush()
            drawn += 1
    except KeyboardInterrupt:
        stream.write("\n")
    return drawn


# ---------------------------------------------------------------- the command

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("song", nargs="?", default=SAMPLE,
                   help="audio file (default: the bundled sample %s)" % os.path.relpath(SAMPLE))
    p.add_argument("--synthetic", type=int, metavar="SEED", default=None,
                   help="preview a synthetic song with exact onsets instead (train/show/synth.py)")
    p.add_argument("--pca-songs", nargs="+", metavar="SONG", default=None,
                   help="songs or folders to fit the PCA baseline on (adds a third raster)")
    p.add_argument("--start", type=float, default=0.0, help="start of the slice [s]")
    p.add_argument("--duration", type=float, default=None, help="length of the slice [s]")
    p.add_argument("--live", action="store_true",
                   help="play the lights in the terminal in time with the music (no audio)")
    p.add_argument("--speed", type=float, default=1.0, help="live view speed factor (default 1)")
    add_show_arguments(p)
    from . import video
    video.add_arguments(p)


def run(args: argparse.Namespace) -> int:
    from lightshowpi_autoencoder.errors import PluginError
    from .audio import DecodeError

    settings = settings_from(args)
    try:
        model = load_model(args.model)
        song = load_song(args.song, args.synthetic, args.start, args.duration)
    except (PluginError, DecodeError, OSError) as exc:
        print("preview: %s" % exc, file=sys.stderr)
        return 2
    if song.pcm.shape[0] == 0:
        print("preview: the song (slice) is empty", file=sys.stderr)
        return 2
    pca = None
    if args.pca_songs:
        from .audio import list_songs
        paths = list_songs(args.pca_songs)
        if not paths:
            print("preview: no audio files in %s" % " ".join(args.pca_songs), file=sys.stderr)
            return 2
        pca = methods.fit_pca_on_files(paths, settings.chunk_size, model.sample_rate)
    try:
        shows = compute(song, settings, model, pca)
    except PluginError as exc:
        print("preview: %s" % exc, file=sys.stderr)
        return 2
    chunk_s = lightshow.chunk_seconds(settings.chunk_size, song.rate)
    rows = score(song, shows, chunk_s)
    stem = os.path.splitext(song.name)[0]
    png = draw(os.path.join(args.out, stem + ".preview.png"), song, shows, rows, settings)

    print("%s: %.1f s, %d chunks of %d frames (%.1f ms), model %s"
          % (song.name, song.seconds, len(next(iter(shows.values())).pins), settings.chunk_size,
             1000 * chunk_s, model.name))
    print("brightness: LightShowPi's rule with %s" % (
        "the song's own mean/std (cached play, as from LightShowPi's second play on)"
        if settings.stats == "cached" else "mean 12 / std 1.5 (LightShowPi's first play)"))
    print("music onsets: %d, %s" % (len(song.onsets), "exact (synthetic song)"
                                    if song.onset_source == "exact"
                                    else "from the spectral-flux detector (train/show/onsets.py)"))
    if pca is not None:
        print("PCA fitted on %d songs (%d feature frames)" % (len(paths), pca.training_frames))
    print()
    print(summary_table(rows, song.sections is not None))
    print()
    print("All on the lights' ON/OFF states. rhythm: onset F-measure (50 ms) of light ON "
          "transitions minus the same against randomly shifted music onsets; ON<100ms: share of "
          "ON periods shorter than 100 ms (flicker); mean|r|: mean |correlation| between lights; "
          "stuck: lights ON <5% or >95% of the time; loud->light: Spearman rho of the share of "
          "lights ON and the loudness, 1 s windows; dark: share of audible chunks with every "
          "light OFF; consistent: do similar-sounding moments get similar lights (1 = always, "
          "0 = no better than chance). Definitions: train/show/metrics.py.")
    print("wrote %s" % png)
    from . import video
    rc = video.run(args, song, shows, settings.chunk_size, settings.pin_mode, LABELS, model.name)
    if rc:
        return rc
    if args.live:
        pins = {name: s.pins for name, s in shows.items()}
        if play_live(pins, chunk_s, args.speed) == 0:
            print("live view skipped: standard output is not a terminal", file=sys.stderr)
    return 0
