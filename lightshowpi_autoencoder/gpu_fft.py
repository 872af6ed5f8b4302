"""The Raspberry Pi GPU FFT (``rpi_audio_levels``) as a power-spectrum engine.

LightShowPi's original fork computes its buckets on the VideoCore GPU through
``rpi_audio_levels.AudioLevels(size, bands)``, whose ``compute(samples, bands)``
returns ``log10(sum |X[j]|**2 for lo <= j < hi)`` per band over an FFT of the
first ``2**size`` samples. With 513 one-bin bands over 1024 samples it yields
the whole power spectrum, which :func:`features.log_power` then treats exactly
like numpy's.

The C library keeps global state: only one ``AudioLevels`` may live in a
process, so the plugin makes this engine *instead of* LightShowPi's 8-band one.
"""
from __future__ import annotations

import numpy as np

from .features import FRAME, N_BINS


class GpuPower:
    """Callable engine: float64 frames ``(n, 1024)`` -> ``|X|**2`` ``(n, 513)``."""

    def __init__(self) -> None:
        from rpi_audio_levels import AudioLevels  # only on a Pi with LightShowPi's build

        self._levels = AudioLevels(int(np.log2(FRAME)), N_BINS)
        self._bands = [[k, k + 1] for k in range(N_BINS)]

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        out = np.empty((frames.shape[0], N_BINS))
        for i in range(frames.shape[0]):
            frame = np.ascontiguousarray(frames[i], dtype=np.float32)
            levels = np.asarray(self._levels.compute(frame, self._bands)[0], dtype=np.float64)
            # log10(0) = -inf for an empty bin; 10**-inf is the 0 it stood for
            out[i] = np.power(10.0, levels)
        return out


def gpu_available() -> bool:
    """True when ``rpi_audio_levels`` imports (a Pi with LightShowPi's GPU build)."""
    try:
        import rpi_audio_levels  # noqa: F401
    except Exception:
        return False
    return True
