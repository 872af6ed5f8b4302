"""The start-up hook behind ``lightshowpi_autoencoder.pth``.

Python runs the ``.pth`` line at every interpreter start. It calls
:func:`process_startup` only when ``SYNCHRONIZED_LIGHTS_HOME`` is set (LightShowPi
refuses to run without it), and that only registers an import finder: when the
program later does ``import fft`` and the module found is
``$SYNCHRONIZED_LIGHTS_HOME/py/fft.py``, the real module runs and then
:func:`host.install` swaps in the plugin's FFT class if ``overrides.cfg``
enables it. Any other import, or any other program, is left alone, and nothing
here may raise: a broken plugin must never break the interpreter.

This module imports only what the interpreter has already loaded.
"""
import os
import sys

_TARGET = "fft"


class _Loader:
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        try:
            from lightshowpi_autoencoder import host, stop
            if host.install(module):
                # before LightShowPi registers its own exit function: a strict stop
                # then ends after LightShowPi's clean-up (see stop.py)
                stop.arm()
        except Exception:  # the host keeps its own FFT
            pass

    def __getattr__(self, name):
        return getattr(self._loader, name)


class FftFinder:
    """``sys.meta_path`` finder that wraps only LightShowPi's own top-level ``fft`` module."""

    def __init__(self, home):
        self.py_dir = os.path.realpath(os.path.join(home, "py"))

    def find_spec(self, name, path=None, target=None):
        if name != _TARGET or path is not None:
            return None
        try:
            from importlib.machinery import PathFinder
            spec = PathFinder.find_spec(name)
            if (spec is None or not spec.origin or spec.loader is None
                    or os.path.dirname(os.path.realpath(spec.origin)) != self.py_dir):
                return None
            spec.loader = _Loader(spec.loader)
            return spec
        except Exception:
            return None


def process_startup():
    """Register the finder if this process may be LightShowPi; otherwise do nothing."""
    try:
        home = os.environ.get("SYNCHRONIZED_LIGHTS_HOME")
        if not home or any(isinstance(f, FftFinder) for f in sys.meta_path):
            return
        sys.meta_path.insert(0, FftFinder(home))
    except Exception:
        pass
