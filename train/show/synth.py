"""Synthetic songs with exact ground truth, for the show-quality report and tests.

A song is a sequence of sections; each section *kind* has its own instrument
and tempo, and every kind recurs (``repeats`` instances), so a classifier can
be scored on whole held-out instances. The kinds:

============  ==========================================  =================
kind          instrument                                  tempo
============  ==========================================  =================
kick_bass     sine-sweep kick on every beat + bass line   90-110 BPM beats
melody        plucked harmonic tone, C3-C6 (MIDI 48-84)   eighths, 110-130
drone         sustained detuned pad chord, slow swell     one attack only
hihat_fast    noise hi-hat, the fast passage              sixteenths, 140-160
============  ==========================================  =================

Ground truth is exact because the audio is built from it: every onset time
[s] is where a note's attack starts, on a sample. Everything is numpy and
deterministic by ``seed``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Tuple

import numpy as np

RATE = 44100
KINDS: Tuple[str, ...] = ("kick_bass", "melody", "drone", "hihat_fast")
#: MIDI numbers of C3 and C6: the melody's range.
MELODY_LOW, MELODY_HIGH = 48, 84
_MAJOR = (0, 2, 4, 5, 7, 9, 11)


@dataclass
class Section:
    """One section instance: ``[start, end)`` [s] of kind ``KINDS[label]``."""

    label: int
    kind: str
    instance: int     # 0-based index of this section in the song
    start: float      # [s]
    end: float        # [s]
    tempo_bpm: float  # 0 for the drone (no pulse)


@dataclass
class SynthSong:
    """A synthetic song and its ground truth.

    :ivar pcm: int16 ``(frames, 2)`` at ``rate`` [Hz] (both channels equal
        but for a small independent noise floor).
    :ivar onsets: sorted unique attack times [s], float64 ``(n,)``.
    :ivar sections: the section instances in time order.
    :ivar notes: melody notes ``(start [s], midi, duration [s])`` float64 ``(n, 3)``.
    """

    name: str
    pcm: np.ndarray
    rate: int
    onsets: np.ndarray
    sections: List[Section]
    notes: np.ndarray
    seed: int
    kinds: Tuple[str, ...] = field(default=KINDS)

    @property
    def seconds(self) -> float:
        return self.pcm.shape[0] / float(self.rate)

    def second_labels(self) -> Tuple[np.ndarray, np.ndarray]:
        """Per whole second ``[s, s+1)``: ``(label, instance)`` int ``(n_seconds,)``.

        A second is labelled by the section holding its midpoint; sections
        last whole seconds, so every second lies in one section.
        """
        n = int(self.seconds)
        labels = np.zeros(n, dtype=int)
        inst = np.zeros(n, dtype=int)
        for s in self.sections:
            lo, hi = int(round(s.start)), int(round(s.end))
            labels[lo:hi] = s.label
            inst[lo:hi] = s.instance
        return labels, inst


def midi_hz(midi: np.ndarray) -> np.ndarray:
    """Equal-tempered frequency [Hz] of MIDI note numbers (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=float) - 69.0) / 12.0)


def _place(out: np.ndarray, start: int, sound: np.ndarray) -> None:
    end = min(out.shape[0], start + sound.shape[0])
    if end > start:
        out[start:end] += sound[: end - start]


def _kick(rate: int) -> np.ndarray:
    t = np.arange(int(0.25 * rate)) / rate
    freq = 50.0 + 100.0 * np.exp(-t / 0.03)  # pitch sweep 150 -> 50 Hz
    phase = 2 * np.pi * np.cumsum(freq) / rate
    return np.sin(phase) * np.exp(-t / 0.07)


def _bass(rate: int, hz: float, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    tone = sum(np.sin(2 * np.pi * k * hz * t) / k for k in range(1, 6))
    attack = np.minimum(1.0, t / 0.005)
    return 0.4 * tone * attack * np.exp(-t / 0.25)


def _pluck(rate: int, hz: float, seconds: float) -> np.ndarray:
    # a plucked string: harmonics whose decay shortens with their number
    t = np.arange(int(seconds * rate)) / rate
    tone = np.zeros_like(t)
    for k in range(1, 9):
        if k * hz < rate / 2.2:
            tone += np.sin(2 * np.pi * k * hz * t) * np.exp(-t * (3.0 + 2.5 * k)) / k
    return tone * np.minimum(1.0, t / 0.002)


def _hat(rate: int, rng: np.random.Generator) -> np.ndarray:
    n = int(0.06 * rate)
    noise = np.diff(rng.standard_normal(n + 1))  # first difference: a high-passed noise
    return 0.35 * noise * np.exp(-np.arange(n) / (0.012 * rate))


def _pad(rate: int, seconds: float, root_midi: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    tone = np.zeros_like(t)
    for m in (root_midi, root_midi + 4, root_midi + 7, root_midi + 12):
        for detune in (-0.004, 0.004):
            tone += np.sin(2 * np.pi * midi_hz(m) * (1 + detune) * t)
    swell = 0.8 + 0.2 * np.sin(2 * np.pi * 0.25 * t)
    edge = np.minimum(1.0, np.minimum(t / 0.02, (t[-1] - t) / 0.05 + 1e-9))
    return 0.12 * tone * swell * np.clip(edge, 0.0, 1.0)


def _scale_notes(lo: int, hi: int) -> np.ndarray:
    return np.array([m for m in range(lo, hi + 1) if (m - lo) % 12 in _MAJOR])


def _section_events(kind: str, start: float, end: float, rng: np.random.Generator,
                    rate: int, out: np.ndarray, first_melody: bool
                    ) -> Tuple[List[float], List[Tuple[float, int, float]], float]:
    """Render one section into ``out``; returns (onsets [s], melody notes, tempo)."""
    onsets: List[float] = []
    notes: List[Tuple[float, int, float]] = []
    s0 = int(round(start * rate))
    length = end - start
    if kind == "kick_bass":
        bpm = float(rng.uniform(90, 110))
        beat = 60.0 / bpm
        bass_line = rng.choice([28, 31, 33, 36, 38, 40], size=4)  # E1..E2
        for i, t in enumerate(np.arange(0.0, length - 0.05, beat)):
            at = s0 + int(round(t * rate))
            _place(out, at, 0.9 * _kick(rate))
            _place(out, at, _bass(rate, float(midi_hz(bass_line[i % 4])), beat))
            onsets.append(at / rate)
        return onsets, notes, bpm
    if kind == "melody":
        bpm = float(rng.uniform(110, 130))
        step = 30.0 / bpm  # eighth notes
        times = np.arange(0.0, length - 0.05, step)
        scale = _scale_notes(MELODY_LOW, MELODY_HIGH)
        if first_melody:
            # the first melody runs C3 -> C6 so every song spans the whole range
            picks = np.round(np.linspace(0, len(scale) - 1, len(times))).astype(int)
        else:
            walk = np.cumsum(rng.integers(-3, 4, size=len(times))) + rng.integers(0, len(scale))
            picks = np.abs((walk % (2 * (len(scale) - 1))) - (len(scale) - 1))  # reflect into range
        for t, k in zip(times, picks):
            at = s0 + int(round(t * rate))
            midi = int(scale[k])
            _place(out, at, 0.5 * _pluck(rate, float(midi_hz(midi)), min(1.0, 4 * step)))
            onsets.append(at / rate)
            notes.append((at / rate, midi, step))
        return onsets, notes, bpm
    if kind == "drone":
        root = int(rng.choice([45, 48, 50, 53]))
        _place(out, s0, _pad(rate, length, root))
        onsets.append(s0 / rate)
        return onsets, notes, 0.0
    if kind == "hihat_fast":
        bpm = float(rng.uniform(140, 160))
        step = 15.0 / bpm  # sixteenths: ~9-11 hits per second
        for t in np.arange(0.0, length - 0.03, step):
            at = s0 + int(round(t * rate))
            _place(out, at, _hat(rate, rng))
            onsets.append(at / rate)
        return onsets, notes, bpm
    raise ValueError("unknown section kind %r" % kind)


def make_song(seed: int = 0, section_seconds: int = 6, repeats: int = 2,
              rate: int = RATE, name: str = "") -> SynthSong:
    """A synthetic song: ``repeats`` rounds of all four kinds, shuffled per round.

    :param seed: everything (order, tempi, notes, noise) follows from it.
    :param section_seconds: length of every section [s] (whole seconds).
    :param repeats: instances of each kind (>= 2 to score held-out instances).
    :returns: a :class:`SynthSong`, ``len(KINDS) * repeats * section_seconds`` s long.
    """
    rng = np.random.default_rng(seed)
    order: List[int] = []
    for _ in range(repeats):
        round_ = list(rng.permutation(len(KINDS)))
        if order and round_[0] == order[-1]:  # never the same kind twice in a row
            round_ = round_[1:] + round_[:1]
        order += [int(k) for k in round_]
    total = len(order) * section_seconds
    mix = np.zeros(total * rate)
    sections: List[Section] = []
    onsets: List[float] = []
    notes: List[Tuple[float, int, float]] = []
    first_melody = True
    for i, label in enumerate(order):
        start, end = float(i * section_seconds), float((i + 1) * section_seconds)
        kind = KINDS[label]
        sec_onsets, sec_notes, bpm = _section_events(kind, start, end, rng, rate, mix,
                                                     first_melody and kind == "melody")
        first_melody = first_melody and kind != "melody"
        onsets += sec_onsets
        notes += sec_notes
        sections.append(Section(label, kind, i, start, end, bpm))
    peak = np.max(np.abs(mix)) or 1.0
    mix *= 0.5 / peak
    # a -70 dB FS noise floor: no chunk is digitally silent, as in real recordings
    stereo = mix[:, None] + 10 ** (-70 / 20) * rng.standard_normal((mix.shape[0], 2))
    pcm = np.clip(np.round(stereo * 32767.0), -32768, 32767).astype(np.int16)
    return SynthSong(name=name or "synthetic-%d" % seed, pcm=pcm, rate=rate,
                     onsets=np.unique(np.round(np.asarray(onsets) * rate) / rate),
                     sections=sections,
                     notes=np.asarray(notes, dtype=float).reshape(-1, 3), seed=seed)


# ---------------------------------------------------------------- the register song

#: formants [Hz] of five sung vowels (a, e, i, o, u): the voice changes vowel from note to note
VOWELS = ((730, 1090, 2440), (530, 1840, 2480), (270, 2290, 3010), (570, 840, 2410),
          (300, 870, 2240))
FORMANT_WIDTHS = (90.0, 110.0, 150.0)       # [Hz]
FORMANT_GAINS = (1.0, 0.6, 0.3)


@dataclass
class MelodySong:
    """A sung-like melody over a quiet drone, and its notes.

    :ivar pcm: int16 ``(frames, 2)`` at ``rate`` [Hz].
    :ivar notes: ``(start [s], midi, duration [s])`` float64 ``(n, 3)``, MIDI
        48-83 (C3 up to B5), about as many notes in each of the three octaves.
    :ivar onsets: note starts [s] (the register song's rhythm ground truth).
    """

    name: str
    pcm: np.ndarray
    rate: int
    notes: np.ndarray
    seed: int

    @property
    def onsets(self) -> np.ndarray:
        return self.notes[:, 0].copy()

    @property
    def seconds(self) -> float:
        return self.pcm.shape[0] / float(self.rate)


def make_melody(seed: int = 0, seconds: float = 60.0, rate: int = RATE, name: str = "") -> MelodySong:
    """The register metric's song: a voice-like melody over C3-B5 above a quiet drone.

    The first half is legato (each note glides into the next in 40 ms, the
    loudness never drops), the second articulated (each note has its own
    attack, 25 ms, and release, with a short gap). The voice: harmonics up to
    5 kHz through the formants of a vowel that changes every 3-6 notes, vibrato of
    +-35 cents at 5-6 Hz fading in over 0.2 s, a little breath noise. The
    drone (C2 and G2, 20 dB below the voice) never stops. Octaves are dealt
    in shuffled rounds so the three classes are balanced. Deterministic by
    ``seed``.
    """
    rng = np.random.default_rng(seed)
    n_total = int(seconds * rate)
    half = n_total // 2
    scale = np.array(_MAJOR)
    f0 = np.zeros(n_total)
    amp = np.zeros(n_total)
    formants = np.zeros((n_total, 3))         # the sung vowel's formants [Hz], per sample
    notes: List[Tuple[float, int, float]] = []
    pos, prev_hz, octaves, vowel, left = int(0.5 * rate), None, [], 0, 0
    while pos < n_total - int(0.3 * rate):
        legato = pos < half
        dur = float(rng.uniform(0.3, 0.6) if legato else rng.uniform(0.25, 0.5))
        n = min(int(dur * rate), n_total - pos)
        if not octaves:
            octaves = list(rng.permutation(3) + 3)
        octave = int(octaves.pop())
        midi = 12 * (octave + 1) + int(rng.choice(scale))
        hz = float(midi_hz(midi))
        t = np.arange(n) / rate
        vib = 0.35 * np.sin(2 * np.pi * rng.uniform(5.0, 6.0) * t) * np.minimum(1.0, t / 0.2)
        pitch = np.full(n, hz)
        if legato and prev_hz is not None:
            glide = min(n, int(0.04 * rate))
            pitch[:glide] = prev_hz * (hz / prev_hz) ** (np.arange(glide) / glide)
        f0[pos:pos + n] = pitch * 2.0 ** (vib / 12.0)
        if legato:
            env = np.ones(n)
        else:
            gap = int(0.06 * rate)
            env = np.minimum(1.0, t / 0.025) * np.clip((n - gap - np.arange(n)) / (0.04 * rate), 0, 1)
            env *= 1.0 - 0.25 * np.minimum(1.0, t / 0.15)      # attack accent, then sustain
        amp[pos:pos + n] = env * float(rng.uniform(0.7, 1.0))
        if left == 0:     # a new word: the vowel holds for a phrase of 3-6 notes (melisma)
            vowel, left = int(rng.integers(len(VOWELS))), int(rng.integers(3, 7))
        left -= 1
        formants[pos:pos + n] = VOWELS[vowel]
        notes.append((pos / rate, midi, n / rate))
        prev_hz, pos = hz, pos + n
    # the loudness never drops between legato notes: smooth the steps of the amplitude
    kernel = np.hanning(int(0.03 * rate))
    amp = np.convolve(amp, kernel / kernel.sum(), mode="same")
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voice = np.zeros(n_total)
    for k in range(1, 40):
        fk = k * f0
        audible = fk < 5000.0
        if not audible.any():
            break
        gain = np.zeros(n_total)
        for j, (width, g) in enumerate(zip(FORMANT_WIDTHS, FORMANT_GAINS)):
            gain += g / (1.0 + ((fk - formants[:, j]) / width) ** 2)
        gain = (gain + 0.03) * audible / np.sqrt(k)
        voice += gain * np.sin(k * phase)
    voice *= amp
    voice += 0.01 * amp * np.diff(rng.standard_normal(n_total + 1))     # breath
    t = np.arange(n_total) / rate
    drone = sum(np.sin(2 * np.pi * midi_hz(m) * t + rng.uniform(0, 2 * np.pi)) for m in (36, 43))
    drone *= np.minimum(1.0, t / 0.5)
    rms = lambda x: float(np.sqrt(np.mean(x * x)) or 1.0)              # noqa: E731
    mix = voice + drone * (rms(voice) / rms(drone)) * 10 ** (-20 / 20)
    mix *= 0.5 / (np.max(np.abs(mix)) or 1.0)
    stereo = mix[:, None] + 10 ** (-70 / 20) * rng.standard_normal((n_total, 2))
    pcm = np.clip(np.round(stereo * 32767.0), -32768, 32767).astype(np.int16)
    return MelodySong(name=name or "melody-%d" % seed, pcm=pcm, rate=rate,
                      notes=np.asarray(notes, dtype=float).reshape(-1, 3), seed=seed)


__all__ = ("RATE", "KINDS", "MELODY_LOW", "MELODY_HIGH", "Section", "SynthSong", "midi_hz",
           "make_song", "VOWELS", "MelodySong", "make_melody")
