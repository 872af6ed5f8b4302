"""The Raspberry Pi GPU FFT (``rpi_audio_levels``) as a power-spectrum engine.

LightShowPi's original fork computes its buckets on the VideoCore GPU through
``rpi_audio_levels.AudioLevels(size, bands)``, whose ``compute(samples, bands)``
returns ``log10(sum |X[j]|**2 for lo <= j < hi)`` per band over an FFT of the
first ``2**size`` samples. With 513 one-bin bands over 1024 samples it yields
the whole power spectrum, which :func:`features.log_power` then treats exactly
like numpy's.

Not every module of that name has those semantics: a port to FFTW takes
``size`` as the FFT length itself, and would silently feed the model garbage.
So :func:`process_engine` checks the library once per process on a fixed test
frame against :func:`features.numpy_power` and refuses it (numpy's FFT is used
instead, with one log line) when the log10 powers differ by more than
:data:`TOLERANCE`.

The C library keeps global state (one FFT plan, one band count, freed by any
instance's destructor): only one ``AudioLevels`` may live in a process. The
plugin therefore makes one for the whole process, keeps it, and never lets the
host make its 8-band one once it exists (:func:`instance_made`).
"""
from __future__ import annotations

import logging
from typing import Any, Dict, Optional, Tuple

import numpy as np

from .features import FRAME, N_BINS, numpy_power

log = logging.getLogger("lightshowpi_autoencoder")

#: Largest difference of log10 power [log10 FS**2] between the library and
#: numpy on the test frame for the library to be used (a single-precision GPU
#: FFT agrees to ~1e-5 there).
TOLERANCE = 1e-3


class GpuPower:
    """Callable engine: float64 frames ``(n, 1024)`` -> ``|X|**2`` ``(n, 513)``.

    :param library: the ``rpi_audio_levels`` module (default: import it).
    """

    def __init__(self, library: Any = None) -> None:
        if library is None:
            import rpi_audio_levels as library  # only on a Pi with LightShowPi's build
        self.library = library
        self._levels = library.AudioLevels(int(np.log2(FRAME)), N_BINS)
        self._bands = [[k, k + 1] for k in range(N_BINS)]

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        out = np.empty((frames.shape[0], N_BINS))
        for i in range(frames.shape[0]):
            frame = np.ascontiguousarray(frames[i], dtype=np.float32)
            levels = np.asarray(self._levels.compute(frame, self._bands)[0], dtype=np.float64)
            # log10(0) = -inf for an empty bin; 10**-inf is the 0 it stood for
            out[i] = np.power(10.0, levels)
        return out


def library_file(library: Any) -> str:
    """Where ``library`` was loaded from (its ``__file__``), for log lines."""
    return getattr(library, "__file__", None) or repr(library)


def check_frame() -> np.ndarray:
    """The fixed check frame: float64 ``(1, 1024)`` [FS], peak 0.5.

    Every bin 0..512 holds a component, with amplitudes falling 40 dB from bin 0 to
    bin 512 (so a permuted or mis-sized spectrum shows) and Schroeder phases (a low
    crest factor); every bin's power is at least 1e-4 of the largest, far above a
    single-precision FFT's error. Made by one inverse FFT (cheap: once per process).
    """
    k = np.arange(N_BINS)
    spectrum = 10.0 ** (-2.0 * k / (N_BINS - 1)) * np.exp(1j * np.pi * k * k / N_BINS)
    x = np.fft.irfft(spectrum, n=FRAME)
    return (0.5 * x / np.abs(x).max())[None, :]


def compare(engine: Any) -> Optional[str]:
    """Run ``engine`` on :func:`check_frame` against numpy.

    :returns: None when every bin's log10 power is within :data:`TOLERANCE`
        of numpy's, else what disagreed, in words.
    """
    frame = check_frame()
    want = np.log10(numpy_power(frame)[0])
    try:
        got = np.asarray(engine(frame), dtype=np.float64)
    except Exception as exc:
        return "it failed on the test frame (%s: %s)" % (type(exc).__name__, exc)
    if got.shape != (1, N_BINS):
        return "it returned %s values for %d bins" % ("x".join(map(str, got.shape)), N_BINS)
    with np.errstate(divide="ignore", invalid="ignore"):
        got = np.log10(got[0])
    diff = np.abs(got - want)
    diff[~np.isfinite(diff)] = np.inf
    bad = np.nonzero(diff > TOLERANCE)[0]
    if not len(bad):
        return None
    worst = int(bad[np.argmax(diff[bad])])
    return ("%d of %d bins of its log10 power spectrum differ from numpy's by more than %g "
            "(worst: bin %d, %.6g instead of %.6g)"
            % (len(bad), N_BINS, TOLERANCE, worst, got[worst], want[worst]))


#: id(rpi_audio_levels module) -> (that module, its engine, whether it passed the check).
#: A refused engine is kept, not freed: its destructor would release the library's
#: global state, and no other instance may be made in this process anyway.
_ENGINES: Dict[int, Tuple[Any, Optional[GpuPower], bool]] = {}


def instance_made(library: Any = None) -> bool:
    """True when this process already made its ``AudioLevels`` from ``library``
    (default: the importable ``rpi_audio_levels``), accepted or refused."""
    if library is None:
        try:
            import rpi_audio_levels as library
        except Exception:
            return False
    hit = _ENGINES.get(id(library))
    return hit is not None and hit[0] is library


def process_engine(library: Any = None) -> Optional[GpuPower]:
    """The process's one GPU engine, checked against numpy the first time.

    :returns: the engine, or None when the library cannot be made or
        disagrees with numpy (then one WARNING line, once per process, names
        the library file and what disagreed; the caller uses numpy's FFT).
    :raises ImportError: no ``rpi_audio_levels`` at all.
    """
    if library is None:
        import rpi_audio_levels as library
    hit = _ENGINES.get(id(library))
    if hit is not None and hit[0] is library:
        return hit[1] if hit[2] else None
    engine: Optional[GpuPower] = None
    try:
        engine = GpuPower(library)
        problem = compare(engine)
    except Exception as exc:
        problem = "AudioLevels(%d, %d) failed (%s: %s)" % (
            int(np.log2(FRAME)), N_BINS, type(exc).__name__, exc)
    if problem is not None:
        log.warning("lightshowpi_autoencoder: the GPU FFT library %s does not compute "
                    "LightShowPi's spectrum: %s; using numpy's FFT instead for this process. "
                    "Fix: install LightShowPi's build of rpi_audio_levels (its AudioLevels(size, "
                    "bands) transforms 2**size samples), or set use_gpu = False",
                    library_file(library), problem)
        _ENGINES[id(library)] = (library, engine, False)
        return None
    _ENGINES[id(library)] = (library, engine, True)
    return engine


def gpu_available() -> bool:
    """True when ``rpi_audio_levels`` imports (a Pi with LightShowPi's GPU build)."""
    try:
        import rpi_audio_levels  # noqa: F401
    except Exception:
        return False
    return True
