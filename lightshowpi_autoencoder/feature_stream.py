"""The runtime's per-chunk features: :func:`~lightshowpi_autoencoder.features.chunk_features`
for one stream of chunks, with its work buffers kept (:class:`ChunkFeatures`).

The definition is :mod:`lightshowpi_autoencoder.features`, the one feature function of
training and the runtime; this module computes exactly its numbers, bit for bit
(tests/test_fast_path.py checks it), with fewer numpy calls per chunk.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

import numpy as np

from .features import (EPS, FRAME, N_BINS, PowerEngine, _frame_plan, _window, band_plan,
                       frame_weights, hop_for, to_model_rate)


def _rfft_direct() -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``f(frames, out)`` -> ``np.fft.rfft(frames, axis=-1)`` for float64 ``(n, 1024)``, bit for bit.

    numpy 2's ``rfft`` spends ~5 us in Python (norm, dtype and shape handling) before
    its pocketfft ufunc, about a third of a 3-frame chunk's FFT: the ufunc is called
    directly, into the caller's buffer, once it has given exactly ``np.fft.rfft``'s
    numbers on a test signal. Any other numpy (1.x calls pocketfft with little
    overhead) or any doubt: ``np.fft.rfft`` itself.
    """
    def public(frames: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.fft.rfft(frames, axis=-1)
    try:
        from numpy.fft import _pocketfft_umath as pfu   # numpy >= 2.0
        ufunc = pfu.rfft_n_even

        def direct(frames: np.ndarray, out: np.ndarray) -> np.ndarray:
            return ufunc(frames, 1, out=out)
        test = np.random.default_rng(0).normal(size=(3, FRAME))
        if np.array_equal(direct(test, np.empty((3, N_BINS), complex)),
                          np.fft.rfft(test, axis=-1)):
            return direct
    except Exception:   # private numpy module moved or changed: the public call
        pass
    return public


_RFFT: Optional[Callable[[np.ndarray, np.ndarray], np.ndarray]] = None


def power_bounds(lo: np.ndarray, hi: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """float32 log10 power bounds ``(513,)`` -> float64 power bounds ``(plo, phi)`` with
    ``float32(log10(clip(p, plo, phi))) == clip(float32(log10(p)), lo, hi)`` for every p.

    It holds when ``log10(plo)`` rounds to ``lo`` (and ``log10(phi)`` to ``hi``), as
    ``10**lo`` nearly always does: the log and the rounding are monotonic, so a power
    below ``plo`` has a frame value at or below ``lo`` either way, and one above has its
    own. The rare bound that does not round back is moved by a few units in the last
    place until it does.
    """
    out = []
    for bound in (lo, hi):
        b32 = np.asarray(bound, np.float32)
        p = 10.0 ** b32.astype(np.float64)
        for _ in range(64):
            back = np.log10(p).astype(np.float32)
            if np.array_equal(back, b32):
                break
            p = np.where(back < b32, np.nextafter(p, np.inf), np.where(back > b32, np.nextafter(p, 0.0), p))
        else:
            raise ValueError("no float64 power rounds back to these log10 bounds")
        out.append(p)
    return out[0], out[1]


def clip_ufunc():
    """numpy's ``clip`` ufunc: ``np.minimum(np.maximum(x, lo), hi)`` in one call (``np.clip``
    itself goes through two Python wrappers first)."""
    core = getattr(np, "_core", None)       # numpy 2 (np.core warns there)
    umath = getattr(core, "umath", None) if core is not None else None
    return getattr(umath if umath is not None else np.core.umath, "clip")


_CLIP = clip_ufunc()


class _Plan:
    """Buffers and constants for chunks of one length (samples per channel)."""

    def __init__(self, length: int, channels: int) -> None:
        self.length = length
        self.channels = channels
        self.count = length * channels          # int16 values in a chunk
        self.nbytes = 2 * self.count
        # the same expressions as _mono_sum's
        self.scale = (1.0 / 32768.0 if channels == 1 else 0.5 / 32768.0 if channels == 2
                      else 1.0 / (32768.0 * channels))
        self.mono = np.empty(length)
        # the chunk's int16 values as float64 (two channels: widened once, then added in pairs)
        self.wide = np.empty(self.count) if channels == 2 else None
        # its left and right halves, and those of the summed re**2, im**2 pairs below: views
        # made once (a view costs a fraction of a microsecond, each chunk)
        self.sides = (self.wide[0::2], self.wide[1::2]) if channels == 2 else None
        if length >= FRAME:
            n, _on_grid = _frame_plan(length)
            w, norm = _window(FRAME)
        else:
            n = 1
            w, norm = _window(length)
        self.n, self.window = n, w
        self.frames = np.zeros((n, FRAME))
        self.view: Optional[np.ndarray] = None
        self.whole = False                      # the view holds every frame
        if length >= FRAME and n > 1:
            hop = hop_for(length)
            step = self.mono.strides[0]
            regular = len(range(0, length - FRAME + 1, hop))
            # the frames on the hop grid: a strided view of the mono buffer (no copy)
            self.view = np.ndarray((regular, FRAME), np.float64, self.mono, 0, (hop * step, step))
            self.whole = regular == n
        self.weights = frame_weights(length) if length >= FRAME else np.ones(1)
        self.spec = np.empty((n, N_BINS), complex)
        self.spec64 = self.spec.view(np.float64)     # (n, 1026): re, im, re, im, ...
        self.pairs = np.empty(2 * N_BINS)
        self.re_im = (self.pairs[0::2], self.pairs[1::2])
        # the same expression as chunk_features': scale * scale / divisor
        self.factor = self.scale * self.scale / (n * norm)


class ChunkFeatures:
    """:func:`chunk_features` for one stream of chunks, with its work buffers kept.

    ``f(data)`` gives exactly ``chunk_features(data, channels, audio_rate, model_rate,
    engine)``, bit for bit (tests/test_fast_path.py checks it on random and real chunks):
    the same numpy operations on the same values, in buffers made once per chunk length
    instead of once per chunk, with as few calls as those allow (each numpy call costs
    ~1 us of Python and dispatch here, as much as its arithmetic). It is the runtime's
    per-chunk path; training computes its frames with :func:`song_features`.

    The frame it returns is a buffer of this object, float32 ``(513,)``, overwritten by
    the next call (:attr:`frame` is the same buffer shaped ``(1, 513)``, a TFLite
    input). After a non-silent chunk :attr:`power` holds the chunk's power before the
    log, float64 ``(513,)`` [FS**2] (normalised, plus ``EPS``), on the audio's bin grid:
    at equal rates the frame is ``log10(power)`` rounded to float32.

    :param channels: interleaved channels of the chunks (1, 2, ...).
    :param audio_rate: sample rate of the chunks [Hz].
    :param model_rate: the model's sample rate [Hz] (default ``audio_rate``).
    :param engine: power-spectrum engine (default numpy).
    :param out: float32 ``(1, 513)`` array to use as :attr:`frame` (an encoder's input
        tensor, which then needs no copy); default a new one.
    :param clip: float32 ``(lo, hi)``, each ``(513,)`` [log10 power]: frames come clipped to
        them, exactly ``np.clip(chunk_features(...), lo, hi)`` (a model's ``input_range``).
        At equal rates :attr:`power` is then the clipped power; a remapped frame is
        clipped after the remap.
    """

    def __init__(self, channels: int, audio_rate: float, model_rate: Optional[float] = None,
                 engine: Optional[PowerEngine] = None, out: Optional[np.ndarray] = None,
                 clip: Optional[Tuple[np.ndarray, np.ndarray]] = None) -> None:
        global _RFFT
        if channels < 1:
            raise ValueError("channels must be >= 1, got %r" % (channels,))
        self.channels = int(channels)
        self.audio_rate = float(audio_rate)
        self.model_rate = self.audio_rate if model_rate is None else float(model_rate)
        self.remap = self.model_rate != self.audio_rate
        self.engine = engine
        self.power = np.zeros(N_BINS)
        if out is not None and (out.shape != (1, N_BINS) or out.dtype != np.float32):
            raise ValueError("out must be float32 (1, %d), not %s %s" % (N_BINS, out.dtype, out.shape))
        self.frame = np.zeros((1, N_BINS), np.float32) if out is None else out
        # clipping the log power to [lo, hi] is clipping the power to [10**lo, 10**hi]
        # before the log: one call on the power instead of one on the frame and one more
        # on the power the loudness is summed from. Not when the frame is remapped after
        # the log (another audio rate): that frame is clipped after the remap
        self._bounds = None if clip is None or self.remap else power_bounds(*clip)
        self._clip_after = clip if clip is not None and self.remap else None
        if _RFFT is None:
            _RFFT = _rfft_direct()
        self._rfft = _RFFT
        self._reset()

    def _reset(self) -> None:
        self._x = self.frame[0]
        #: :attr:`power` without bin 0 (DC), a view
        self.power_ac = self.power[1:]
        self._plans: dict = {}
        self._last: Optional[_Plan] = None

    def __getstate__(self) -> dict:
        # views into buffers (a plan's frames, the frame's row) would point into the
        # original's memory in a copy: copies (copy.deepcopy, pickle) make them afresh
        state = dict(self.__dict__)
        for key in ("_x", "power_ac", "_plans", "_last"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._reset()

    def _plan(self, length: int) -> _Plan:
        plan = self._plans.get(length)
        if plan is None:
            if len(self._plans) >= 8:     # a stream has one chunk length (and a last, shorter one)
                self._plans.clear()
            plan = self._plans[length] = _Plan(length, self.channels)
        return plan

    def _samples(self, data: Any) -> Tuple[np.ndarray, Optional[_Plan]]:
        """int16 samples of whole frames of any chunk ``chunk_features`` takes, and their plan."""
        channels = self.channels
        if isinstance(data, np.ndarray):
            pcm = np.asarray(data, dtype=np.int16).reshape(-1)
            count = len(pcm) - len(pcm) % channels
            pcm = pcm[:count]
        else:
            if not isinstance(data, (bytes, bytearray)):
                data = memoryview(data).cast("B")
            count = len(data) // (2 * channels) * channels
            pcm = np.frombuffer(data, dtype=np.int16, count=count)
        return pcm, (self._plan(count // channels) if count else None)

    def __call__(self, data: Any) -> Optional[np.ndarray]:
        """One chunk (as :func:`chunk_features` takes it) -> float32 ``(513,)`` (this
        object's buffer), or ``None`` for a silent or empty chunk."""
        plan = self._last
        if type(data) is bytes and plan is not None and len(data) == plan.nbytes:
            pcm = np.frombuffer(data, np.int16)       # LightShowPi's chunks: all but the last
        else:
            pcm, plan = self._samples(data)
            if plan is None:
                return None
            self._last = plan
        mono = plan.mono
        # the integer sums of the channels, exact in float64 (as _mono_sum)
        if plan.channels == 2:
            # widening first, then one float64 add: cheaper than the add casting as it goes
            np.copyto(plan.wide, pcm)
            np.add(*plan.sides, out=mono)
        elif plan.channels == 1:
            mono[:] = pcm
        else:
            np.sum(pcm.reshape(plan.length, plan.channels), axis=1, dtype=np.float64, out=mono)
        # analysis frames times the window (as analysis_frames)
        frames = plan.frames
        if plan.whole:
            np.multiply(plan.view, plan.window, out=frames)
        else:
            self._frame_rest(plan)
        # frame powers summed with the frame weights (as power_sum)
        total = self.power
        if self.engine is None:
            spec = self._rfft(frames, plan.spec)
            v = plan.spec64 if spec is plan.spec else spec.view(np.float64)
            np.square(v, out=v)
            if plan.n > 1:
                np.dot(plan.weights, v, out=plan.pairs)
                np.add(*plan.re_im, out=total)
            else:
                np.add(v[0, 0::2], v[0, 1::2], out=total)
        else:
            power = self.engine(frames)
            if plan.n > 1:
                np.dot(plan.weights, power, out=total)
            else:
                total[:] = power[0]
        if total[0] == 0.0 and not total.any():
            return None
        # normalise and log (as _log10_power), keeping the linear power; the float64 log
        # is rounded to float32 on its way out, as astype does
        total *= plan.factor
        total += EPS
        if self._bounds is not None:
            _CLIP(total, self._bounds[0], self._bounds[1], out=total)
        x = self._x
        np.log10(total, out=x, casting="same_kind")
        if self.remap:
            x[:] = to_model_rate(x, self.audio_rate, self.model_rate)
            if self._clip_after is not None:
                _CLIP(x, self._clip_after[0], self._clip_after[1], out=x)
        return x

    @staticmethod
    def _frame_rest(plan: _Plan) -> None:
        """The windowed frames of a plan whose hop grid leaves a tail, or of one frame."""
        frames, w, mono = plan.frames, plan.window, plan.mono
        if plan.view is not None:
            np.multiply(plan.view, w, out=frames[:-1])
            np.multiply(mono[-FRAME:], w, out=frames[-1])
        elif plan.length >= FRAME:
            np.multiply(mono[:FRAME], w, out=frames[0])
        else:
            np.multiply(mono, w, out=frames[0, :plan.length])


class BandMeans:
    """:func:`~lightshowpi_autoencoder.features.band_means` of one frame at a time, bit for
    bit, into buffers kept.

    ``f(x)`` takes a feature frame ``(513,)`` (float32 or float64) and returns its band
    means, float64 ``(n_bands,)``, in one of two buffers used in turn: a result stays
    valid until the call after next, so a caller can compare this chunk's bands with the
    previous chunk's without a copy.
    """

    def __init__(self, per_octave: float) -> None:
        self.starts, self.inv = band_plan(float(per_octave))
        n = len(self.starts)
        self._bufs = (np.empty(n), np.empty(n))
        self._flip = 0
        # the frame widened to float64 into a buffer kept for it, then added bin by bin,
        # as band_means does (cheaper than reduceat casting as it goes)
        self._wide = np.empty(N_BINS)

    def __len__(self) -> int:
        return len(self.starts)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        b = self._bufs[self._flip]
        self._flip ^= 1
        np.copyto(self._wide, x)
        np.add.reduceat(self._wide, self.starts, out=b)
        b *= self.inv
        return b


__all__ = ("ChunkFeatures", "BandMeans", "clip_ufunc", "power_bounds")
