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
stretch of music. The memory is bounded: a ring of the last ``span_s`` seconds of
chunks, each its ``bands`` float32 band powers, its squared norm and its lights
(``(span_s / chunk seconds + k - 1) * (bands + channels + 1)`` values and ``k - 1``
repeated rows: 0.4 MB for 90 s at chunk 2048, 43 bands, 8 lights), so a long
audio-in session costs the same per chunk as a song.

Per chunk the memory only writes the chunk's bands and lights into the ring, and
while following compares two ``k``-chunk windows (two numpy calls). A moment's sound
is never copied: the ring keeps its first ``k - 1`` rows repeated after its end, so
every moment's ``k`` chunks are one contiguous slice of it. The search, every
``every_s`` seconds, takes each chunk's dot product with the present moment's ``k``
chunks in one matrix product and sums them along the diagonals, with the norms of the
chunks written since the last search.
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
        k = self.k = max(1, int(round(self.window_s / seconds)))
        self.lag = max(1, int(math.ceil(self.after_s / seconds - 1e-9)))
        self.every = max(1, int(round(self.every_s / seconds)))
        #: candidates for a match: the last `size` chunks (the present one among them)
        self.size = max(self.lag + 1, int(math.ceil(self.span_s / seconds - 1e-9)))
        # the ring holds `ring` chunks: every candidate's window, its k - 1 chunks before it
        # included, stays in it. Chunk t sits in row t % ring + k - 1; the ring's last k - 1
        # chunks also in rows 0..k-2, so the window of the chunk in row r + k - 1 is rows
        # r..r+k-1, whether or not it wraps
        ring = self.ring = self.size + k - 1
        nb = self.bands
        # zeros: pages untouched until written (not counted in the process's memory), and
        # rows not written yet read as numbers, masked out of every search
        self._chunks = np.zeros((ring + k - 1, nb), np.float32)
        self._norms = np.zeros(ring + k - 1, np.float32)       # squared norm of each row
        self._rows = np.zeros((ring, self.channels), np.float32)
        self._normed = 0                  # the first chunk whose norm is not yet written
        self._diff = np.empty((k, nb), np.float32)
        self._flat = self._diff.reshape(-1)
        # the search: the present moment's k chunks against every row, and per window
        # |window|**2 - 2 window . present summed along the diagonals (row r + i, chunk i)
        self._dots = np.empty((k, ring + k - 1), np.float32)
        self._present = np.empty((k, nb), np.float32)
        self._dist = np.empty(ring, np.float32)
        self._sq = np.empty((self.every + 1, nb), np.float32)
        # squared RMS bounds, compared with squared distances summed over the k * nb values
        width = k * nb
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
        ring, k = self.ring, self.k
        pos = t % ring
        chunks = self._chunks
        chunks[pos + k - 1] = bands
        if pos + k - 1 >= ring:
            chunks[pos + k - 1 - ring] = bands        # one of the ring's last k - 1 chunks
        elif not t and k > 1:
            # before k chunks, the first chunk stands in for the ones not heard yet
            chunks[:k - 1] = chunks[k - 1]
        oldest_match = t - self.lag         # the newest chunk far enough back
        j = self.source + 1 if self.source >= 0 else -1
        if 0 <= j <= oldest_match and j > t - self.size:
            # following: the chunk after the one copied, its k chunks against the present's
            jp = j % ring
            np.subtract(chunks[pos:pos + k], chunks[jp:jp + k], out=self._diff)
            if float(np.dot(self._flat, self._flat)) >= self._keep2:
                j = -1
        else:
            j = -1
        if j < 0 and oldest_match >= 0 and t % self.every == 0:
            j = self._search(t, pos, oldest_match)
        self.source = j
        if j >= 0:
            # a copy: the caller keeps what it gets (LightShowPi appends it to the song's
            # cache), and the ring row is written over span_s later
            row = self._rows[j % ring].copy()
        self._rows[pos] = row
        self.count = t + 1
        return row

    def _norm(self, t: int) -> None:
        """Write the squared norms of the chunks not yet normed, up to ``t``."""
        ring, k = self.ring, self.k
        chunks, norms = self._chunks, self._norms
        # (after a follow longer than the ring, only the rows' latest chunks matter)
        c = max(self._normed, t - ring + 1)
        if not c and k > 1:
            # the rows standing in before the first chunk
            norms[:k - 1] = float(np.dot(chunks[0], chunks[0]))
        while c <= t:
            a = c % ring
            b = min(a + t - c + 1, ring)           # chunks c.. sit in rows a + k - 1 .. b + k - 2
            rows = chunks[a + k - 1:b + k - 1]
            if len(rows) > len(self._sq):
                self._sq = np.empty_like(rows)
            sq = self._sq[:len(rows)]
            np.multiply(rows, rows, out=sq)
            np.add.reduce(sq, axis=1, out=norms[a + k - 1:b + k - 1])
            if b + k - 1 > ring:                   # and the ring's last k - 1 in rows 0..k-2 too
                lo = max(a + k - 1, ring)
                norms[lo - ring:b + k - 1 - ring] = norms[lo:b + k - 1]
            c += b - a
        self._normed = t + 1

    def _search(self, t: int, pos: int, oldest: int) -> int:
        """The remembered chunk whose window is nearest to the present one (ring row ``pos``)
        among chunks ``t - size + 1`` to ``oldest``, if within ``match``; else -1."""
        ring, k = self.ring, self.k
        self._norm(t)
        chunks, norms = self._chunks, self._norms
        # g[i, r] = |row r|**2 - 2 row r . chunk i of the present moment (the -2 applied to
        # the present's k rows, not to the product's k * ring values)
        g = self._dots
        np.multiply(chunks[pos:pos + k], -2.0, out=self._present)
        np.dot(self._present, chunks.T, out=g)
        g += norms
        # dist[r] = |window r|**2 - 2 window r . present: the diagonal sums of g
        dist = self._dist
        np.copyto(dist, g[0, :ring])
        for i in range(1, k):
            dist += g[i, i:ring + i]
        present = float(np.add.reduce(norms[pos:pos + k]))
        # every window but the candidates' is masked: the candidates are `count` chunks
        # from `oldest` back, a run of ring rows that may wrap
        count = min(oldest + 1, self.size - self.lag)
        start = (oldest + 1) % ring              # the first row after the candidates
        masked = ring - count
        if start + masked <= ring:
            dist[start:start + masked] = np.inf
        else:
            dist[start:] = np.inf
            dist[:start + masked - ring] = np.inf
        i = int(np.argmin(dist))
        if float(dist[i]) + present >= self._match2:
            return -1
        # the absolute index of ring row i: the newest chunk at or before t that sits there
        return t - ((t - i) % ring)


__all__ = ("MIN_CHUNK_S", "RepeatMemory")
