"""The repeat memory (lightshowpi_autoencoder.repeat): the lights repeat when the music does."""
import math

import numpy as np
import pytest

from lightshowpi_autoencoder import switching as SW
from lightshowpi_autoencoder.repeat import RepeatMemory

DT = 2048 / 44100.0          # one chunk of the original LightShowPi [s]
BANDS = 43


class ReferenceRepeat:
    """The memory as the module docstring says it, written plainly: the whole history in
    float64, every moment's sound rebuilt from it, the RMS difference computed as such."""

    def __init__(self, match, keep, after_s, window_s, every_s, span_s, bands, channels):
        self.p = (match, keep, after_s, window_s, every_s, span_s)
        self.history, self.shown, self.sources = [], [], []
        self.last = -1            # the chunk copied last time, -1 when none

    def sound(self, t):
        k = self.k
        return np.concatenate([self.history[max(t - i, 0)] for i in range(k)])

    def rms(self, t, j):
        return math.sqrt(np.mean((self.sound(t) - self.sound(j)) ** 2))

    def __call__(self, bands, row, seconds):
        match, keep, after_s, window_s, every_s, span_s = self.p
        if not self.history:
            if seconds < 0.005:
                return row
            self.first = seconds
            self.k = max(1, round(window_s / seconds))
            self.lag = max(1, math.ceil(after_s / seconds - 1e-9))
            self.every = max(1, round(every_s / seconds))
            self.span = max(self.lag + 1, math.ceil(span_s / seconds - 1e-9))
        elif not 0.5 * self.first <= seconds <= 2 * self.first:
            self.last = -1
            return row
        self.history.append(np.asarray(bands, np.float64).copy())
        t = len(self.history) - 1
        candidates = range(max(0, t - self.span + 1), t - self.lag + 1)
        source = -1
        prev = self.last
        if prev >= 0 and prev + 1 in candidates and self.rms(t, prev + 1) < keep:
            source = prev + 1
        elif t % self.every == 0 and len(candidates):
            dist = [self.rms(t, j) for j in candidates]
            i = int(np.argmin(dist))
            if dist[i] < match:
                source = candidates[i]
        self.sources.append(source)
        self.last = source
        self.shown.append(self.shown[source] if source >= 0 else np.asarray(row, np.float32))
        return self.shown[-1]


def song(parts, rng, noise=0.01, length=60):
    """Band log powers ``(n, BANDS)``: each letter of ``parts`` a passage of ``length``
    chunks, the same letter the same passage (plus a little noise)."""
    passages = {}
    out = []
    for p in parts:
        if p not in passages:
            passages[p] = rng.normal(-5, 1, (length, BANDS))
        out.append(passages[p] + rng.normal(0, noise, (length, BANDS)))
    return np.vstack(out)


def both(bands, rows, seconds=DT, **over):
    p = dict(match=0.3, keep=0.45, after_s=4.0, window_s=0.19, every_s=0.19, span_s=120.0,
             bands=BANDS, channels=rows.shape[1])
    p.update(over)
    fast, ref = RepeatMemory(**p), ReferenceRepeat(**p)
    got, sources = [], []
    for b, r in zip(bands, rows):
        got.append(fast(b, r, seconds).copy())
        sources.append(fast.source)
        ref(b, r, seconds)
    return np.array(got), np.array(sources), ref


@pytest.mark.parametrize("seconds,span_s", [(DT, 120.0), (2 * DT, 120.0), (DT, 9.0),
                                            (4096 / 48000, 7.0)])
def test_memory_is_the_reference(seconds, span_s):
    """Same source chunk, same rows, on a song of returning passages; the short spans wrap
    the ring several times."""
    rng = np.random.default_rng(0)
    bands = song("ABACBAADCB", rng)
    rows = rng.normal(12, 2, (len(bands), 8)).astype(np.float32)
    got, sources, ref = both(bands, rows, seconds, span_s=span_s)
    assert sources.tolist() == ref.sources
    assert np.array_equal(got, np.array(ref.shown))
    assert (sources >= 0).mean() > 0.05          # the test exercises copying at all


@pytest.mark.parametrize("window_s", [0.05, 0.19, 0.4])
def test_a_follow_longer_than_the_ring_then_a_search_is_the_reference(window_s):
    """A passage that keeps repeating is followed for longer than the ring with no search in
    between; when the music changes the search reads norms written long after their chunks,
    over a ring written many times: still the reference's choices. Matches near the far end
    of the span (the oldest candidates' windows) too."""
    rng = np.random.default_rng(11)
    bands = song("A" * 14 + "BCA" + "DBC", rng, length=24)
    rows = rng.normal(12, 2, (len(bands), 8)).astype(np.float32)
    got, sources, ref = both(bands, rows, span_s=6.0, window_s=window_s, every_s=0.1)
    assert sources.tolist() == ref.sources
    assert np.array_equal(got, np.array(ref.shown))
    follows = np.diff(np.flatnonzero(np.diff(sources) != 1))
    assert follows.max() > 1.5 * int(6.0 / DT)     # one follow outlasted the ring
    assert (sources[-72:] >= 0).mean() > 0.3       # and the changed music found its matches


def test_a_returning_passage_shows_as_it_did():
    rng = np.random.default_rng(1)
    bands = song("ABA", rng, length=150)         # 7 s passages at chunk 2048
    rows = rng.normal(12, 2, (len(bands), 8)).astype(np.float32)
    got, sources, _ = both(bands, rows)
    # the first time, the stage's own rows; the second A, after at most a search period
    # and the window's warm-up, the first A's rows, chunk for chunk
    assert np.array_equal(got[:300], rows[:300])
    copied = sources[300:] >= 0
    first = 300 + int(np.argmax(copied))
    assert first - 300 <= 8 and copied[first - 300:].all()
    assert np.array_equal(sources[first:], np.arange(first - 300, 150))
    assert np.array_equal(got[first:], rows[first - 300:150])


def test_nothing_is_copied_from_less_than_after_s_back():
    rng = np.random.default_rng(2)
    steady = np.repeat(rng.normal(-5, 1, (1, BANDS)), 200, axis=0)   # one sound, 9 s
    rows = rng.normal(12, 2, (200, 8)).astype(np.float32)
    _got, sources, _ = both(steady, rows)
    lag = math.ceil(4.0 / DT - 1e-9)
    # found at the first search (every 4th chunk) once there is a moment far enough back
    assert (sources[:lag] < 0).all() and (sources[lag + 3:] >= 0).all()
    assert (np.arange(200)[lag:] - sources[lag:] >= lag).all()


def test_copying_stops_when_the_music_goes_its_own_way():
    rng = np.random.default_rng(3)
    bands = song("AB", rng, length=120)
    bands = np.vstack([bands, bands[:60], rng.normal(-5, 1, (60, BANDS))])   # A's start, then new
    rows = rng.normal(12, 2, (len(bands), 8)).astype(np.float32)
    _got, sources, _ = both(bands, rows)
    assert (sources[250:300] >= 0).all()
    assert (sources[300 + 4:] < 0).all()         # the window holds new sound within 4 chunks


def test_the_memory_is_bounded():
    """An audio-in evening: the ring stays span_s long, and what lies further back is
    forgotten (a passage that returns after more than span_s is decided afresh)."""
    rng = np.random.default_rng(4)
    p = dict(match=0.3, keep=0.45, after_s=4.0, window_s=0.19, every_s=0.19, span_s=20.0,
             bands=BANDS, channels=8)
    mem = RepeatMemory(**p)
    a = rng.normal(-5, 1, (100, BANDS))
    filler = rng.normal(-5, 1, (600, BANDS))       # 28 s of other music
    sources = []
    for b in np.vstack([a, filler, a]):
        mem(b, np.zeros(8, np.float32), DT)
        sources.append(mem.source)
    assert mem.size == math.ceil(20.0 / DT) and mem._chunks.shape[0] == mem.size + 2 * (mem.k - 1)
    assert max(sources[700:]) < 0


def test_silent_music_and_odd_sizes_do_not_break_it():
    mem = RepeatMemory(0.3, 0.45, 0.5, 0.0, 0.0, 1.0, 3, 1)
    for i in range(200):
        out = mem(np.full(3, -12.0), np.array([i], np.float32), 0.37)
        assert out.dtype == np.float32 and out.shape == (1,)
    assert mem.k == 1 and mem.every == 1 and mem.lag == 2 and mem.size == 3


def test_the_stage_repeats_its_lights_when_the_sound_repeats():
    """Through Switching: the second time a passage comes, the lights are the first time's
    although the units (the model's view) differ a little."""
    rng = np.random.default_rng(5)
    frames = rng.normal(-6, 1, (200, 513))
    x = np.vstack([frames, rng.normal(-6, 1, (100, 513)), frames]).astype(np.float32)
    z = rng.normal(0, 1, (len(x), 8))
    z[300:] = z[:200] + rng.normal(0, 0.5, (200, 8))
    params = SW.check(dict(SW.DEFAULTS, kind=SW.KIND), 8)
    rows = {}
    for name, over in (("memory", {}), ("none", {"repeat_match": 0.0})):
        st = SW.Switching(dict(params, **over), np.zeros(8), np.ones(8), -2.0, 0.5)
        rows[name] = np.array([st(z[i], x[i], -2.0, DT) for i in range(len(x))])
    on = {k: v > 12.1875 for k, v in rows.items()}
    start = 300 + 8
    assert np.array_equal(on["memory"][start:], on["memory"][start - 300:200])
    assert not np.array_equal(on["none"][start:], on["none"][start - 300:200])
    assert np.array_equal(rows["memory"][:300], rows["none"][:300])


def test_chunks_of_another_length_pass_through():
    """A few samples first (sizes come from the first real chunk), a short last chunk: shown
    as the stage decided, not remembered, and no ring of millions of rows."""
    rng = np.random.default_rng(6)
    mem = RepeatMemory(0.3, 0.45, 4.0, 0.19, 0.19, 90.0, BANDS, 8)
    b = rng.normal(-5, 1, BANDS)
    tiny = np.ones(8, np.float32)
    assert mem(b, tiny, 1 / 44100) is tiny and mem.count == 0
    for i in range(200):
        mem(b, np.zeros(8, np.float32), DT)
    assert mem.size == math.ceil(90.0 / DT) and mem.source >= 0
    last = np.full(8, 3.0, np.float32)
    assert mem(b, last, 0.3 * DT) is last and mem.count == 200 and mem.source == -1


def test_what_it_returns_is_the_callers_to_keep():
    """LightShowPi keeps every row it gets (a song's .sync cache is the list of them): a row
    the memory returns must not change when the ring later writes over the row it came from."""
    rng = np.random.default_rng(7)
    bands = song("ABABABAB", rng, length=40)        # 320 chunks through a ring of ~200
    rows = rng.normal(12, 2, (len(bands), 8)).astype(np.float32)
    mem = RepeatMemory(0.3, 0.45, 4.0, 0.19, 0.19, 9.0, BANDS, 8)
    kept, at_once = [], []
    for b, r in zip(bands, rows):
        out = mem(b, r, DT)
        kept.append(out)
        at_once.append(out.copy())
    assert mem.count > mem.size and any(k is not r for k, r in zip(kept, rows))
    assert np.array_equal(np.array(kept), np.array(at_once))
