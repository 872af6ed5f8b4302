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
from .features import encoder_input
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
    """One interpreter, one input, one output: ``(inputs,) -> (channels,)``.

    Called with an array, it returns the output as an array that stays valid until the
    next call (:class:`Encoder` copies it for its callers; the per-chunk path reads it
    at once). :attr:`input_buffer` is, when not None, a float32 array of the input's
    shape that *is* the interpreter's input tensor: a caller that writes its features
    there and passes that array saves the copy in.
    """

    def __init__(self, interpreter_class, content: bytes) -> None:
        self._class, self._content = interpreter_class, content
        self._public()
        (inp,), outs = self._interp.get_input_details(), self._interp.get_output_details()
        if len(outs) != 1:
            raise ValueError("encoder must have one output, has %d" % len(outs))
        self._in, self._out = inp["index"], outs[0]["index"]
        self.input_shape = tuple(int(d) for d in inp["shape"])
        self.output_shape = tuple(int(d) for d in outs[0]["shape"])
        self.input_buffer: Optional[np.ndarray] = None
        self._output: Optional[np.ndarray] = None
        self._direct()

    def _public(self) -> None:
        """A fresh interpreter, run through its public methods only."""
        self._interp = interp = self._class(model_content=self._content, num_threads=1)
        interp.allocate_tensors()
        self._set, self._invoke = interp.set_tensor, interp.invoke
        self._get = lambda index, subgraph: interp.get_tensor(index)
        self.input_buffer = self._output = None

    def _direct(self) -> None:
        """Run the interpreter's wrapped C++ object on its own tensor buffers.

        ``invoke()`` first checks, in three Python calls, that no numpy view of a tensor
        buffer is alive (views die when the interpreter reallocates its tensors, which it
        does only in ``allocate_tensors``/``resize_tensor_input``, called here once, before
        the views are made), and ``set_tensor``/``get_tensor`` copy in and out: those
        layers cost as much as the model itself (~7 us). Used only when the object is
        there and its views give the public methods' numbers on a test input; otherwise a
        fresh interpreter and the public methods.
        """
        try:
            probe = np.linspace(-12.0, 2.0, int(np.prod(self.input_shape)),
                                dtype=np.float32).reshape(self.input_shape)
            self._interp.set_tensor(self._in, probe)
            self._interp.invoke()
            want = self._interp.get_tensor(self._out).copy()
            # from here on the public invoke() refuses to run (it counts references to
            # this object to find tensor views): only these are used
            raw = self._interp._interpreter
            inp = raw.tensor(raw, self._in)
            out = raw.tensor(raw, self._out)
            invoke = raw.Invoke
            if (inp.shape != self.input_shape or inp.dtype != np.float32
                    or out.size != int(np.prod(self.output_shape))):
                raise ValueError("unexpected tensor views")
            inp[...] = 0.0
            invoke()
            inp[...] = probe
            invoke()
            if not (np.array_equal(out, want) and np.array_equal(inp, probe)):
                # other numbers, or the input read back changed (the caller reads it after)
                raise ValueError("the direct calls gave other numbers")
        except Exception:    # another interpreter version: a fresh one, its public methods
            self._public()
            return
        self._invoke = invoke
        self.input_buffer = inp
        self._output = out.reshape(-1)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        inp = self.input_buffer
        if inp is None:
            self._set(self._in, x.reshape(self.input_shape))
            self._invoke()
            return self._get(self._out, 0).reshape(-1)
        if x is not inp:
            inp[...] = x.reshape(self.input_shape)
        self._invoke()
        return self._output


class _NumpyRunner:
    """The numpy executor; its output and :attr:`input_buffer` as :class:`_TfliteRunner`'s."""

    def __init__(self, content: bytes) -> None:
        from .tflite_numpy import NumpyInterpreter
        self._model = NumpyInterpreter(content)
        self.input_shape = tuple(self._model.input_shape)
        self.output_shape = tuple(self._model.output_shape)
        self.input_buffer = self._model.input_buffer()

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
    """The model's encoder: its input ``(model.input_size,)`` (the feature frame's 513 bins, or
    their band means) -> raw channel activations ``(channels,)``.

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
        if n_in != model.input_size or n_out != model.channels:
            raise PluginError("model takes %d inputs and gives %d outputs; its metadata says "
                              "%d inputs and %d channels"
                              % (n_in, n_out, model.input_size, model.channels), model.path,
                              RETRAIN)
        self._run: Callable[[np.ndarray], np.ndarray] = runner
        if self.backend not in _logged_backends:
            _logged_backends.add(self.backend)
            log.info("lightshowpi_autoencoder: encoder backend %s", self.backend)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """:param features: ``(model.input_size,)``. :returns: float32 ``(channels,)``."""
        return np.array(self._run(np.asarray(features, dtype=np.float32)))

    def on_frame(self, frame: np.ndarray) -> np.ndarray:
        """The encoder on a feature frame ``(513,)`` [log10 power], clipped as the pipeline
        clips it: the model's input is made from it first (the frame itself, or its band
        means: :func:`features.encoder_input`). :returns: float32 ``(channels,)``."""
        return self(encoder_input(frame, self.model.input_bands))

    def run_float32(self, features: np.ndarray) -> np.ndarray:
        """The per-chunk call: :meth:`__call__` for an input already float32 (its values,
        any shape; :meth:`input_buffer` itself saves a copy), returning an array valid
        until the next call."""
        return self._run(features)

    def in_place(self, frame: np.ndarray) -> Callable[[], np.ndarray]:
        """A call with no arguments that runs the model on ``frame`` as it holds then
        (float32, the model's input size) and returns the channels (an array valid until the
        next call).

        When ``frame`` is :meth:`input_buffer` and the interpreter runs on its own buffers,
        the call is the interpreter's ``Invoke`` and a read of its output, with no Python
        layer between (the per-chunk path); otherwise :meth:`run_float32` on ``frame``.
        """
        invoke = getattr(self._run, "_invoke", None)
        output = getattr(self._run, "_output", None)
        if invoke is not None and output is not None and frame is self.input_buffer():
            def run() -> np.ndarray:
                invoke()
                return output
            return run
        return lambda: self.run_float32(frame)

    def input_buffer(self) -> Optional[np.ndarray]:
        """float32 array of the model's input shape that the interpreter reads its input
        from, or None: features written there need no copy on :meth:`run_float32`."""
        return getattr(self._run, "input_buffer", None)
