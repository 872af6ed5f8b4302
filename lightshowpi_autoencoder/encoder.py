"""Run an exported encoder on one feature frame with a TFLite interpreter.

Backends, in order of preference: ``ai_edge_litert`` (LiteRT), ``tflite_runtime``,
``tensorflow.lite`` (only when TensorFlow is already imported by the process,
e.g. in training; the runtime never imports TensorFlow itself), and last the
numpy executor in :mod:`tflite_numpy` for 32-bit Raspberry Pi OS, which has
no interpreter wheel. ``LSPAI_BACKEND=<name>`` forces one (tests, benchmarks).
"""
from __future__ import annotations

import logging
import os
import sys
from typing import Callable, List, Optional, Tuple

import numpy as np

from .errors import PluginError
from .features import N_BINS
from .modelfile import RETRAIN, ModelFile

log = logging.getLogger("lightshowpi_autoencoder")

BACKENDS = ("litert", "tflite_runtime", "tensorflow", "numpy")
_logged_backends: set = set()


def _interpreter_class(name: str):
    if name == "litert":
        from ai_edge_litert.interpreter import Interpreter
        return Interpreter
    if name == "tflite_runtime":
        from tflite_runtime.interpreter import Interpreter
        return Interpreter
    if name == "tensorflow":
        if "tensorflow" not in sys.modules and os.environ.get("LSPAI_BACKEND") != "tensorflow":
            raise ImportError("TensorFlow is not loaded; the runtime does not import it")
        import tensorflow as tf
        return tf.lite.Interpreter
    raise ImportError(name)


class _TfliteRunner:
    """One interpreter, one input, one output: ``(513,) -> (channels,)``."""

    def __init__(self, interpreter_class, content: bytes) -> None:
        self._content = content
        self._interp = interpreter_class(model_content=content, num_threads=1)
        self._interp.allocate_tensors()
        (inp,), outs = self._interp.get_input_details(), self._interp.get_output_details()
        if len(outs) != 1:
            raise ValueError("encoder must have one output, has %d" % len(outs))
        self._in, self._out = inp["index"], outs[0]["index"]
        self.input_shape = tuple(int(d) for d in inp["shape"])
        self.output_shape = tuple(int(d) for d in outs[0]["shape"])
        interp = self._interp
        self._set, self._invoke = interp.set_tensor, interp.invoke
        self._get = lambda index, subgraph: interp.get_tensor(index)
        self._direct()

    def _direct(self) -> None:
        """Call the interpreter's wrapped C++ object, skipping its Python methods.

        ``invoke()`` first checks, in three Python calls, that no numpy view of a tensor
        buffer is alive (``tensor()``, which this runner never uses), then calls
        ``_interpreter.Invoke()``; ``set_tensor``/``get_tensor`` just forward. Those
        layers are a quarter of the encoder's ~8 us a chunk. Used only when the object
        is there and gives the public methods' numbers on a test input.
        """
        try:
            probe = np.linspace(-12.0, 2.0, int(np.prod(self.input_shape)),
                                dtype=np.float32).reshape(self.input_shape)
            self._interp.set_tensor(self._in, probe)
            self._interp.invoke()
            want = self._interp.get_tensor(self._out).copy()
            # from here on the public invoke() refuses to run (it counts references to
            # this object to find tensor views): only these are used
            raw = getattr(self._interp, "_interpreter", None)
            set_, invoke, get = raw.SetTensor, raw.Invoke, raw.GetTensor
            set_(self._in, np.zeros_like(probe))
            invoke()
            set_(self._in, probe)
            invoke()
            got = get(self._out, 0)      # (tensor, subgraph)
            if not np.array_equal(np.asarray(got), want):
                raise ValueError("the direct calls gave other numbers")
        except Exception:    # another interpreter version: a fresh one, its public methods
            self._interp = self._interp.__class__(model_content=self._content, num_threads=1)
            self._interp.allocate_tensors()
            interp = self._interp
            self._set, self._invoke = interp.set_tensor, interp.invoke
            self._get = lambda index, subgraph: interp.get_tensor(index)
            return
        self._set, self._invoke, self._get = set_, invoke, get

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self._set(self._in, x.reshape(self.input_shape))
        self._invoke()
        return self._get(self._out, 0).reshape(-1)


class _NumpyRunner:
    def __init__(self, content: bytes) -> None:
        from .tflite_numpy import NumpyInterpreter
        self._model = NumpyInterpreter(content)
        self.input_shape = tuple(self._model.input_shape)
        self.output_shape = tuple(self._model.output_shape)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self._model.run_vector(x)


def _make_runner(name: str, content: bytes):
    if name == "numpy":
        return _NumpyRunner(content)
    return _TfliteRunner(_interpreter_class(name), content)


def backend_order() -> List[str]:
    forced = os.environ.get("LSPAI_BACKEND", "").strip()
    if forced:
        if forced not in BACKENDS:
            raise PluginError("LSPAI_BACKEND=%s is not a backend" % forced, None,
                              "use one of " + ", ".join(BACKENDS) + " or unset it")
        return [forced]
    return list(BACKENDS)


def _fix(tried: List[Tuple[str, str]]) -> str:
    """The fix for a model no backend would load, from what each backend said."""
    rejected = [name for name, why in tried if not why.startswith("not installed")]
    if rejected and rejected[0] != "numpy":
        # a TFLite interpreter is installed and read the file: the file is the problem
        return ("the .tflite is damaged or not an encoder export: copy the .tflite and .json "
                "that train/ wrote together again, or " + RETRAIN)
    if rejected:
        # only the numpy executor was there, and it runs dense encoders only
        return ("install a TFLite interpreter (pip install ai-edge-litert, or tflite-runtime) "
                "into the Python LightShowPi runs with; if one is installed, the .tflite is "
                "damaged: " + RETRAIN)
    return "pip install ai-edge-litert (or tflite-runtime), or unset LSPAI_BACKEND"


class Encoder:
    """The model's encoder: feature frame ``(513,)`` -> raw channel activations ``(channels,)``.

    :param model: a checked :class:`ModelFile`.
    :param backend: one of :data:`BACKENDS`; default: the first that imports.
    :raises PluginError: no backend can run the model, or its shapes are wrong.
    """

    def __init__(self, model: ModelFile, backend: Optional[str] = None) -> None:
        self.model = model
        tried: List[Tuple[str, str]] = []
        runner = None
        for name in ([backend] if backend else backend_order()):
            try:
                runner = _make_runner(name, model.tflite)
                self.backend = name
                break
            except ImportError as exc:
                tried.append((name, "not installed (%s)" % exc))
            except Exception as exc:  # a broken flatbuffer, an unsupported op...
                # an interpreter that imported rejected the model: no other will do better
                tried.append((name, "%s: %s" % (type(exc).__name__, exc)))
                break
        if runner is None:
            raise PluginError("no interpreter could load the model (%s)"
                              % "; ".join("%s: %s" % t for t in tried), model.path,
                              _fix(tried))
        n_in = int(np.prod(runner.input_shape))
        n_out = int(np.prod(runner.output_shape))
        if n_in != N_BINS or n_out != model.channels:
            raise PluginError("model takes %d inputs and gives %d outputs; the plugin feeds %d "
                              "and its metadata says %d channels"
                              % (n_in, n_out, N_BINS, model.channels), model.path, RETRAIN)
        self._run: Callable[[np.ndarray], np.ndarray] = runner
        if self.backend not in _logged_backends:
            _logged_backends.add(self.backend)
            log.info("lightshowpi_autoencoder: encoder backend %s", self.backend)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """:param features: float32 ``(513,)``. :returns: float32 ``(channels,)``."""
        return self._run(np.asarray(features, dtype=np.float32))

    def run_float32(self, features: np.ndarray) -> np.ndarray:
        """:meth:`__call__` for features already float32 (513 values, any shape): the
        per-chunk call."""
        return self._run(features)
