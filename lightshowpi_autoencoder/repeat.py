"""Repeat memory: when the music comes back, the lights it had come back.

The switching stage decides each chunk's lights from that chunk alone (and the
few before it), so a chorus that returns gets lights that differ in detail the
second time: a light waiting for an onset, a hold that started a chunk later.
A viewer reads that as the show not knowing the song. This memory, after the
stage, remembers what each moment sounded like and what the lights showed:

* **Sound of a moment**: the last ``k`` chunks' band log powers (the stage's
  onset bands, ``flux_bands`` per octave, [log10 power]), ``k`` chunks making
  ``window_s`` seconds, newest first: a vector of ``k * bands`` values.
* **Match**: every ``every_s`` seconds the memory looks for the remembered
  moment at least ``after_s`` seconds back (and at most ``span_s``) whose sound
  is nearest to the present one. If the RMS difference of the two vectors is
  below ``match`` [log10 power], the lights copy what they showed then.
* **Follow**: while copying, each next chunk is compared with the chunk after
  the one copied; while they still match within ``keep`` the copy goes on, so
  the whole returning passage is shown as it was the first time. When it stops
  matching, the stage's own decision shows again.

The first time a sound comes, the model decides its lights; the memory only
makes the show repeat itself when the music does. It is causal (audio-in and
stream-in work as a file does), per song (LightShowPi makes a new FFT object,
so a new memory, for each song), and the same for any model. Digital silence
(chunks LightShowPi's features skip) is not remembered. All durations are in
seconds, so 2048- and 4096-sample chunks, 44.1 and 48 kHz, remember the same
stretch of music. The memory is bounded: ``span_s`` seconds of chunks, a ring
of float32 vectors (``span_s / chunk seconds * (k * bands + channels + 1)``
values: 1.4 MB for 90 s at chunk 2048, 43 bands, 8 lights), so a long
audio-in session costs the same per chunk as a song.
"""
from __future__ import annotations

import math
import numpy as np


#: [s] the shortest chunk the memory sizes itself by (LightShowPi's smallest chunk_size, 256
#: frames, is 5.3 ms at 48 kHz): a stray few-sample first chunk must not size a ring of
#: millions of rows
MIN_CHUNK_S = 0.005


class RepeatMemory:
    """The memory of one song (see the module docstring).

    :param match: largest RMS difference [log10 power] for a new match.
    :param keep: largest RMS difference [log10 power] to go on following one.
    :param after_s: a match must lie at least this far back [s].
    :param window_s: the stretch of sound compared [s] (rounded to whole chunks, >= 1).
    :param every_s: how often a new match is looked for [s] (rounded to whole chunks, >= 1).
    :param span_s: how far back the memory reaches [s].
    :param bands: band log powers per chunk.
    :param channels: lights per row.

    The sizes in chunks are fixed by the first chunk at least ``MIN_CHUNK_S`` long
    (LightShowPi's chunks all have one length but the song's last); chunks shorter than
    half or longer than twice that pass through unremembered.
    """

    def __init__(self, match: float, keep: float, after_s: float, window_s: float,
                 every_s: float, span_s: float, bands: int, channels: int) -> None:
        self.match, self.keep = float(match), float(keep)
        self.after_s, self.window_s = float(after_s), float(window_s)
        self.every_s, self.span_s = float(every_s), float(span_s)
        self.bands, self.channels = int(bands), int(channels)
        self.count = 0            # chunks remembered so far (the present one's index)
        self.source = -1          # index of the chunk being copied, -1 when none

    def _start(self, seconds: float) -> None:
        """Sizes in chunks from the chunk length [s]; the ring's buffers."""
        self._low, self._high = 0.5 * seconds, 2.0 * seconds
        self.k = max(1, int(round(self.window_s / seconds)))
        self.lag = max(1, int(math.ceil(self.after_s / seconds - 1e-9)))
        self.every = max(1, int(round(self.every_s / seconds)))
        self.size = max(self.lag + 1, int(math.ceil(self.span_s / seconds - 1e-9)))
        width = self.k * self.bands
        # np.empty: a page is only touched (and counted in the process's memory) once written
        self._sounds = np.empty((self.size, width), np.float32)
        self._norms = np.empty(self.size, np.float32)
        self._rows = np.empty((self.size, self.channels), np.float32)
        self._dist = np.empty(self.size, np.float32)
        # squared RMS bounds, compared with squared distances summed over the vector
        self._match2 = self.match * self.match * width
        self._keep2 = self.keep * self.keep * width

    def __call__(self, bands: np.ndarray, row: np.ndarray, seconds: float) -> np.ndarray:
        """One chunk: its band log powers ``(bands,)`` [log10 power], the stage's levels
        ``row`` ``(channels,)`` float32 and its length [s] -> the levels to show (``row``
        or a remembered one, float32 ``(channels,)``)."""
        t = self.count
        if not t:
            if seconds < MIN_CHUNK_S:
                return row
            self._start(seconds)
        elif not self._low <= seconds <= self._high:
            # a chunk of another length (the song's last, a stray one): the memory counts in
            # chunks of the first's length, so it neither remembers it nor copies over it
            self.source = -1
            return row
        size, nb = self.size, self.bands
        pos = t % size
        sounds, norms = self._sounds, self._norms
        # the present moment's sound, written straight into its ring row: this chunk's bands,
        # then the previous row's newest k - 1 chunks (before k chunks, the first chunk stands
        # in for the ones not heard yet)
        d = sounds[pos]
        d[:nb] = bands
        if t:
            d[nb:] = sounds[pos - 1, :-nb]   # pos - 1 = -1: the ring's last row, as it should
        else:
            d[nb:] = np.tile(d[:nb], self.k - 1)
        norms[pos] = n2 = float(np.dot(d, d))
        oldest_match = t - self.lag         # the newest chunk far enough back
        j = self.source + 1 if self.source >= 0 else -1
        if 0 <= j <= oldest_match and j > t - size:
            # following: the chunk after the one copied
            jp = j % size
            if n2 + float(norms[jp]) - 2.0 * float(np.dot(sounds[jp], d)) >= self._keep2:
                j = -1
        else:
            j = -1
        if j < 0 and oldest_match >= 0 and t % self.every == 0:
            j = self._search(d, n2, t, oldest_match)
        self.source = j
        if j >= 0:
            # a copy: the caller keeps what it gets (LightShowPi appends it to the song's
            # cache), and the ring row is written over span_s later
            row = self._rows[j % size].copy()
        self._rows[pos] = row
        self.count = t + 1
        return row

    def _search(self, d: np.ndarray, n2: float, t: int, oldest: int) -> int:
        """The remembered chunk whose sound is nearest to ``d`` (squared norm ``n2``) among
        those from ``t - size + 1`` to ``oldest``, if within ``match``; else -1."""
        size = self.size
        # not wrapped: rows 0..oldest, in order; wrapped: every row, the `lag` newest masked
        m = oldest + 1 if t < size else size
        dist = self._dist[:m]
        np.dot(self._sounds[:m], d, out=dist)
        dist *= -2.0
        dist += self._norms[:m]
        if t >= size:
            lo, hi = (oldest + 1) % size, (t % size) + 1
            if lo < hi:
                dist[lo:hi] = np.inf
            else:
                dist[lo:] = np.inf
                dist[:hi] = np.inf
        i = int(np.argmin(dist))
        if float(dist[i]) + n2 >= self._match2:
            return -1
        # the absolute index of ring row i: the newest chunk at or before t that sits there
        return t - ((t - i) % size)


__all__ = ("MIN_CHUNK_S", "RepeatMemory")
