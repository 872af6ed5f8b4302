"""Run our exported ``.tflite`` encoders with numpy alone.

32-bit Raspberry Pi OS (armv7l) has no TFLite/LiteRT interpreter wheel, so this module
reads the model flatbuffer itself (no ``flatbuffers``, ``tflite`` or TensorFlow package)
and runs the few float32 operators our exporter emits: FULLY_CONNECTED (+ fused
activation) and TANH, plus LOGISTIC, RELU, RELU6, RELU_N1_TO_1, ADD, SUB, MUL and RESHAPE
so that small exporter changes keep working. Anything else is refused at load time.

Field numbers are those of ``tensorflow/lite/schema/schema.fbs`` (checked against TF
2.21's ``schema_py_generated.py``): a field's vtable slot is its declaration index.
"""
from __future__ import annotations

import math
import struct
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

__all__ = ["NumpyInterpreter", "UnsupportedModel"]

_BAD = "not a valid .tflite flatbuffer: "
_SCHEMA_VERSION = 3
_MAX_INPUT_VALUES = 1 << 24  # the load-time dry run allocates an input: refuse absurd ones

# Names of the BuiltinOperator codes a dense Keras/TF export may plausibly contain (from TF
# 2.21's schema_py_generated.py), for error messages only; others print as their number.
_OP_NAMES = {int(c): n for c, n in (item.split(":") for item in (
    "0:ADD 2:CONCATENATION 3:CONV_2D 6:DEQUANTIZE 9:FULLY_CONNECTED 14:LOGISTIC 18:MUL "
    "19:RELU 20:RELU_N1_TO_1 21:RELU6 22:RESHAPE 25:SOFTMAX 28:TANH 32:CUSTOM 34:PAD "
    "39:TRANSPOSE 40:MEAN 41:SUB 42:DIV 43:SQUEEZE 45:STRIDED_SLICE 47:EXP 50:LOG_SOFTMAX "
    "53:CAST 54:PRELU 55:MAXIMUM 57:MINIMUM 59:NEG 66:SIN 70:EXPAND_DIMS 73:LOG 74:SUM "
    "75:SQRT 76:RSQRT 78:POW 83:PACK 92:SQUARE 98:LEAKY_RELU 99:SQUARED_DIFFERENCE 101:ABS "
    "108:COS 111:ELU 114:QUANTIZE 117:HARD_SWISH 126:BATCH_MATMUL 150:GELU").split())}
_TYPE_NAMES = ("FLOAT32 FLOAT16 INT32 UINT8 INT64 STRING BOOL INT16 COMPLEX64 INT8 FLOAT64 "
               "COMPLEX128 UINT64 RESOURCE VARIANT UINT32 UINT16 INT4 BFLOAT16 INT2 UINT4").split()
_FLOAT32, _INT32, _INT64 = 0, 2, 4
ADD, FULLY_CONNECTED, LOGISTIC, MUL, RELU, RELU_N1_TO_1, RELU6, RESHAPE, TANH, CUSTOM, SUB = (
    0, 9, 14, 18, 19, 20, 21, 22, 28, 32, 41)
# BuiltinOptions union tags of the option tables we read
_OPT_FULLY_CONNECTED, _OPT_ADD, _OPT_RESHAPE, _OPT_MUL, _OPT_SUB = 8, 11, 17, 21, 28


class UnsupportedModel(ValueError):
    """A well-formed model this executor cannot run (operator, tensor type, shape)."""


# f(x, out): out=None returns a new array; out=x works in place (fused activations act on
# a freshly computed array). Python-number bounds keep float32 under old and new numpy.
_Activation = Callable[[np.ndarray, Optional[np.ndarray]], np.ndarray]
_UNARY: Dict[int, _Activation] = {
    RELU: lambda x, out: np.maximum(x, 0, out=out),
    RELU_N1_TO_1: lambda x, out: np.clip(x, -1, 1, out=out),
    RELU6: lambda x, out: np.clip(x, 0, 6, out=out),
    TANH: lambda x, out: np.tanh(x, out=out),
    # 1 / (1 + exp(-x)) as (tanh(x / 2) + 1) / 2: exp(-x) would overflow float32 for x < -88
    LOGISTIC: lambda x, out: np.multiply(np.tanh(np.multiply(x, 0.5, out=out)) + 1, 0.5, out=out)}
# ActivationFunctionType -> the same functions (0 NONE: none; 5 SIGN_BIT: unsupported)
_ACTIVATIONS: Dict[int, Optional[_Activation]] = {
    0: None, 1: _UNARY[RELU], 2: _UNARY[RELU_N1_TO_1], 3: _UNARY[RELU6], 4: _UNARY[TANH]}
_BINARY = {ADD: (np.add, _OPT_ADD), SUB: (np.subtract, _OPT_SUB), MUL: (np.multiply, _OPT_MUL)}
_Step = Callable[[list], None]


class _FlatBuffer:
    """Just enough FlatBuffers: little-endian reads, all bounds-checked; a table is its offset."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def check(self, pos: int, size: int) -> None:
        if pos < 0 or pos + size > len(self.data):
            raise ValueError(_BAD + "offset %d (+%d) is outside the %d-byte file"
                             % (pos, size, len(self.data)))

    def _read(self, fmt: str, pos: int) -> int:
        self.check(pos, struct.calcsize(fmt))
        return struct.unpack_from(fmt, self.data, pos)[0]

    def ref(self, pos: int) -> int:
        """Follow the uoffset stored at ``pos`` (it counts from ``pos`` itself)."""
        return pos + self._read("<I", pos)

    def _field(self, table: int, slot: int) -> int:
        """Position of field ``slot`` of ``table``; 0 when absent (= the schema default)."""
        vtable = table - self._read("<i", table)
        entry = 4 + 2 * slot
        if entry + 2 > self._read("<H", vtable):  # files from older schemas: shorter vtables
            return 0
        off = self._read("<H", vtable + entry)
        return table + off if off else 0

    def scalar(self, table: int, slot: int, fmt: str) -> int:
        pos = self._field(table, slot)
        return self._read(fmt, pos) if pos else 0  # every default we read is 0 / false

    def table(self, table: int, slot: int) -> Optional[int]:
        pos = self._field(table, slot)
        return self.ref(pos) if pos else None

    def _vector(self, table: int, slot: int, itemsize: int) -> Tuple[int, int]:
        """(position of the first element, element count) of a vector field."""
        pos = self._field(table, slot)
        if not pos:
            return 0, 0
        vec = self.ref(pos)
        n = self._read("<I", vec)
        self.check(vec + 4, n * itemsize)
        return vec + 4, n

    def tables(self, table: int, slot: int) -> List[int]:
        start, n = self._vector(table, slot, 4)
        return [self.ref(start + 4 * k) for k in range(n)]

    def array(self, table: int, slot: int, dtype: str) -> np.ndarray:
        dt = np.dtype(dtype)
        start, n = self._vector(table, slot, dt.itemsize)
        return np.frombuffer(self.data, dt, n, start) if n else np.zeros(0, dt)

    def string(self, table: int, slot: int) -> str:
        start, n = self._vector(table, slot, 1)
        return self.data[start:start + n].decode("utf-8", "replace")


class NumpyInterpreter:
    """A float32 TFLite model run with numpy: ``input_shape`` -> ``output_shape``.

    :param model_content: the ``.tflite`` file's bytes.
    :raises UnsupportedModel: an operator, tensor type or shape this executor lacks
        (the message names the operator).
    :raises ValueError: the bytes are not a valid TFLite flatbuffer.
    """

    input_shape: Tuple[int, ...]   # e.g. (1, 513)
    output_shape: Tuple[int, ...]  # e.g. (1, 8)
    ops: Tuple[str, ...]           # operator names in run order, e.g. ("FULLY_CONNECTED", ...)

    def __init__(self, model_content: bytes) -> None:
        try:
            self._load(bytes(memoryview(model_content)))
        except ValueError as exc:  # UnsupportedModel and our own messages pass unchanged
            if isinstance(exc, UnsupportedModel) or str(exc).startswith(_BAD):
                raise
            raise ValueError(_BAD + str(exc)) from None
        except (IndexError, KeyError, TypeError, OverflowError, struct.error) as exc:
            raise ValueError(_BAD + "%s: %s" % (type(exc).__name__, exc)) from None

    def run(self, x: np.ndarray) -> np.ndarray:
        """One forward pass.

        :param x: float32 array of :attr:`input_shape` (e.g. ``(1, 513)`` log10 powers);
            other dtypes are converted, other shapes of the same size reshaped.
        :returns: a new float32 array of :attr:`output_shape` (e.g. ``(1, 8)``).
        """
        if self._chain is not None:
            return self._run_chain(x)
        x = np.asarray(x, dtype=np.float32)
        if x.shape != self.input_shape:
            x = x.reshape(self.input_shape)
        env = self._template.copy()  # tensor values by index; constants are pre-filled
        env[self._in] = x
        for step in self._steps:
            step(env)
        return env[self._out]

    def input_buffer(self) -> Optional[np.ndarray]:
        """float32 array of :attr:`input_shape` that :meth:`run_vector` reads its input
        from (the fast path's first buffer), or None (the general path)."""
        if self._chain is None:
            return None
        if getattr(self, "_input", None) is None:
            self._input = self._chain[1][0][:-1].reshape(self.input_shape)
        return self._input

    def run_vector(self, x: np.ndarray) -> np.ndarray:
        """:meth:`run` on the input's values in order, as a flat float32 array ``(output
        size,)`` that stays valid until the next call (the per-chunk call: no shape
        handling, no copies when ``x`` is :meth:`input_buffer`)."""
        if self._chain is not None:
            steps, bufs = self._chain
            if x is not getattr(self, "_input", None):
                bufs[0][:-1] = x.reshape(-1)
            dot = np.dot
            for inp, Wa, act, out in steps:
                dot(inp, Wa, out=out)
                if act is not None:
                    act(out, out)
            return bufs[-1]
        return self.run(x).reshape(-1)

    # -- loading: parse, check, and turn each operator into a step(env) closure ----------

    def _load(self, data: bytes) -> None:
        if len(data) < 8 or data[4:8] != b"TFL3":
            raise ValueError(_BAD + "no TFL3 file identifier (%d bytes)" % len(data))
        fb = self._fb = _FlatBuffer(data)
        model = fb.ref(0)
        version = fb.scalar(model, 0, "<I")                        # Model.version
        if version != _SCHEMA_VERSION:
            raise UnsupportedModel("TFLite schema version %d, this executor reads %d"
                                   % (version, _SCHEMA_VERSION))
        # OperatorCode: 0 deprecated_builtin_code:byte, 1 custom_code, 3 builtin_code:int;
        # codes > 127 sit in builtin_code (127 in the old field): max() as TFLite does
        self._codes = [(max(fb.scalar(c, 0, "<b"), fb.scalar(c, 3, "<i")), fb.string(c, 1))
                       for c in fb.tables(model, 1)]               # Model.operator_codes
        self._buffers = fb.tables(model, 4)                        # Model.buffers
        subgraphs = fb.tables(model, 2)                            # Model.subgraphs
        if len(subgraphs) != 1:
            raise UnsupportedModel("%d subgraphs; the numpy executor runs one" % len(subgraphs))
        sg = subgraphs[0]
        self._tensors = fb.tables(sg, 0)                           # SubGraph.tensors
        inputs, outputs = fb.array(sg, 1, "<i4"), fb.array(sg, 2, "<i4")
        if len(inputs) != 1 or len(outputs) != 1:
            raise UnsupportedModel("model has %d inputs and %d outputs; expected 1 and 1"
                                   % (len(inputs), len(outputs)))
        self._in, self._out = self._index(inputs[0]), self._index(outputs[0])
        self._check_float(self._in, "model input")
        self._check_float(self._out, "model output")
        self.input_shape = self._shape(self._in)
        if math.prod(self.input_shape) > _MAX_INPUT_VALUES:
            raise UnsupportedModel("input shape %s is too large" % (self.input_shape,))

        self._consts: Dict[int, Optional[np.ndarray]] = {}
        self._chain = None
        self._links: List[tuple] = []   # per step: ("dense", i, out, W, bias, act) or ("act", ...)
        self._template: List[Optional[np.ndarray]] = [None] * len(self._tensors)
        self._steps: List[_Step] = []
        ready, ops = {self._in}, []
        for op in fb.tables(sg, 3):                                # SubGraph.operators
            code, name = self._opcode(fb.scalar(op, 0, "<I"))      # Operator.opcode_index
            ins = [int(i) for i in fb.array(op, 1, "<i4")]         # Operator.inputs, -1: none
            outs = [int(i) for i in fb.array(op, 2, "<i4")]        # Operator.outputs
            if len(outs) != 1:
                raise UnsupportedModel("%s with %d outputs" % (name, len(outs)))
            out = self._index(outs[0])
            self._steps.append(self._build(code, name, op, ins, out))  # checks operand types
            for i in ins:  # TFLite runs operators in file order: inputs must exist by then
                if i >= 0 and i not in ready and self._constant(i) is None:
                    raise UnsupportedModel("%s reads tensor %r before anything writes it"
                                           % (name, self._name(i)))
            ops.append(name)
            ready.add(out)
        if self._out not in ready:
            raise UnsupportedModel("no operator computes the model output")
        self.ops = tuple(ops)
        self._dry_run()
        self._chain = self._compile_chain()
        del self._fb, self._buffers, self._tensors, self._consts  # weights were copied out

    def _compile_chain(self):
        """The fast path for what our exporter writes: dense layers, each followed by at
        most one activation, each reading the previous one's output, on a ``(1, n)``
        input. Bias folded into the weights against a constant 1 appended to each
        layer's input, preallocated buffers: 2 numpy calls a layer instead of 4 (the
        per-chunk benchmark). ``None`` for anything else (the general path runs it)."""
        if (len(self.input_shape) != 2 or self.input_shape[0] != 1 or not self._links
                or len(self._links) != len(self._steps)):   # another kind of operator
            return None
        layers, cur = [], self._in
        for link in self._links:
            if link[0] == "dense":
                _, i, out, W, bias, act, flatten = link
                if i != cur or flatten:
                    return None
                Wa = np.vstack([W, (bias if bias is not None else np.zeros(W.shape[1]))[None, :]])
                layers.append([np.ascontiguousarray(Wa, dtype=np.float32), act])
            else:
                _, i, out, fn = link
                if i != cur or not layers or layers[-1][1] is not None:
                    return None
                layers[-1][1] = fn
            cur = out
        if cur != self._out or layers[0][0].shape[0] != self.input_shape[1] + 1:
            return None
        # buffer k holds layer k's input and a trailing 1; the last holds the output
        bufs = [np.ones(Wa.shape[0], np.float32) for Wa, _ in layers]
        bufs.append(np.empty(layers[-1][0].shape[1], np.float32))
        for k in range(len(layers) - 1):
            if layers[k][0].shape[1] + 1 != layers[k + 1][0].shape[0]:
                return None
        outs = [bufs[k + 1][: Wa.shape[1]] for k, (Wa, _) in enumerate(layers)]
        return [(bufs[k], Wa, act, outs[k]) for k, (Wa, act) in enumerate(layers)], bufs

    def _run_chain(self, x: np.ndarray) -> np.ndarray:
        steps, bufs = self._chain
        first = bufs[0]
        first[:-1] = np.asarray(x, dtype=np.float32).reshape(-1)
        dot = np.dot
        for inp, Wa, act, out in steps:
            dot(inp, Wa, out=out)
            if act is not None:
                act(out, out)
        return bufs[-1].copy().reshape(self.output_shape)

    def _dry_run(self) -> None:
        """Run once on zeros, so a shape mismatch fails at load naming the operator."""
        env = self._template.copy()
        env[self._in] = np.zeros(self.input_shape, np.float32)
        for k, (step, name) in enumerate(zip(self._steps, self.ops)):
            try:
                step(env)
            except ValueError as exc:
                raise UnsupportedModel("operator #%d %s: shapes do not fit (%s)"
                                       % (k, name, exc)) from None
        declared, got = self._shape(self._out, dynamic_ok=True), env[self._out].shape
        if -1 not in declared and declared != got:
            raise UnsupportedModel("output shape %s, but the model declares %s"
                                   % (got, declared))
        self.output_shape = tuple(int(d) for d in got)

    def _index(self, i: int) -> int:
        if not 0 <= i < len(self._tensors):  # a negative index would wrap around a list
            raise ValueError(_BAD + "tensor index %d out of range" % i)
        return int(i)

    def _name(self, i: int) -> str:
        return self._fb.string(self._tensors[self._index(i)], 3)          # Tensor.name

    def _type(self, i: int) -> int:
        return self._fb.scalar(self._tensors[self._index(i)], 1, "<b")    # Tensor.type

    def _shape(self, i: int, dynamic_ok: bool = False) -> Tuple[int, ...]:
        """Tensor.shape; a dynamic dimension reads -1 (if ``dynamic_ok``) or is refused."""
        dims = self._fb.array(self._tensors[self._index(i)], 0, "<i4")
        shape = tuple(max(int(d), -1) for d in dims)
        if -1 in shape and not dynamic_ok:
            raise UnsupportedModel("tensor %r has a dynamic shape %s" % (self._name(i), shape))
        return shape

    def _check_float(self, i: int, what: str, allowed: Tuple[int, ...] = (_FLOAT32,)) -> None:
        ttype = self._type(i)
        if ttype not in allowed:
            tname = _TYPE_NAMES[ttype] if 0 <= ttype < len(_TYPE_NAMES) else str(ttype)
            raise UnsupportedModel("%s: tensor %r is %s; the numpy executor runs float32 models "
                                   "only (not quantized ones)" % (what, self._name(i), tname))
        if self._fb.table(self._tensors[self._index(i)], 6) is not None:  # Tensor.sparsity
            raise UnsupportedModel("%s: tensor %r is sparse" % (what, self._name(i)))

    def _constant(self, i: int) -> Optional[np.ndarray]:
        """Tensor ``i``'s constant data as an array of its own, or None (computed at run)."""
        if i not in self._consts:
            self._consts[i] = self._read_constant(self._index(i))
        return self._consts[i]

    def _read_constant(self, i: int) -> Optional[np.ndarray]:
        b = self._fb.scalar(self._tensors[i], 2, "<I")                     # Tensor.buffer
        if not 0 <= b < len(self._buffers):
            raise ValueError(_BAD + "buffer index %d out of range" % b)
        buf = self._buffers[b]
        # Buffer: 0 data:[ubyte]; models > 2 GB use 1 offset:ulong, 2 size:ulong instead,
        # the offset counted from the start of the file (0 and 1 mean "not used")
        offset, size = self._fb.scalar(buf, 1, "<Q"), self._fb.scalar(buf, 2, "<Q")
        if offset > 1:
            self._fb.check(offset, size)
            raw = self._fb.data[offset:offset + size]
        else:
            raw = self._fb.array(buf, 0, "<u1").tobytes()
        dtype = {_FLOAT32: "<f4", _INT32: "<i4", _INT64: "<i8"}.get(self._type(i))
        if not raw or dtype is None:  # other types: _check_float refuses them where used
            return None
        shape = self._shape(i)
        if len(raw) != math.prod(shape) * np.dtype(dtype).itemsize:
            raise ValueError(_BAD + "tensor %r holds %d bytes for shape %s"
                             % (self._name(i), len(raw), shape))
        return np.frombuffer(raw, dtype).reshape(shape).astype(dtype[1:])  # a native copy

    def _opcode(self, index: int) -> Tuple[int, str]:
        if not 0 <= index < len(self._codes):
            raise ValueError(_BAD + "opcode index %d out of range" % index)
        code, custom = self._codes[index]
        if code == CUSTOM:
            return code, "CUSTOM(%s)" % custom
        return code, _OP_NAMES.get(code, "BuiltinOperator #%d" % code)

    def _options(self, op: int, tag: int) -> Optional[int]:
        # Operator: 3 builtin_options_type:ubyte, 4 builtin_options (a union table)
        return self._fb.table(op, 4) if self._fb.scalar(op, 3, "<B") == tag else None

    def _activation(self, name: str, options: Optional[int]) -> Optional[_Activation]:
        # slot 0 of FullyConnected/Add/Sub/MulOptions: fused_activation_function:byte
        act = self._fb.scalar(options, 0, "<b") if options is not None else 0
        if act not in _ACTIVATIONS:
            raise UnsupportedModel("%s with fused activation %s"
                                   % (name, "SIGN_BIT" if act == 5 else "#%d" % act))
        return _ACTIVATIONS[act]

    def _use(self, i: int, name: str) -> int:
        """Check a float32 operand and pre-fill its constant value (if any) in the template."""
        self._check_float(i, name)
        const = self._constant(i)
        if const is not None:
            self._template[i] = const
        return self._index(i)

    def _build(self, code: int, name: str, op: int, ins: List[int], out: int) -> _Step:
        """One operator -> ``step(env)``, ``env`` being the list of tensor values by index."""
        if code == FULLY_CONNECTED:
            return self._fully_connected(name, op, ins, out)
        if code in _UNARY and len(ins) == 1:
            fn, i = _UNARY[code], self._use(ins[0], name)
            self._links.append(("act", i, out, fn))

            def unary(env: list) -> None:
                env[out] = fn(env[i], None)
            return unary
        if code in _BINARY and len(ins) == 2:
            ufunc, tag = _BINARY[code]
            act = self._activation(name, self._options(op, tag))
            a, b = self._use(ins[0], name), self._use(ins[1], name)

            def binary(env: list) -> None:
                y = ufunc(env[a], env[b])  # TFLite broadcasts these like numpy
                env[out] = act(y, y) if act is not None else y
            return binary
        if code == RESHAPE and len(ins) in (1, 2):
            return self._reshape(name, op, ins, out)
        raise UnsupportedModel("operator %s (%d inputs) is not supported by the numpy executor "
                               "(it runs FULLY_CONNECTED, TANH, LOGISTIC, RELU, RELU6, "
                               "RELU_N1_TO_1, ADD, SUB, MUL, RESHAPE)" % (name, len(ins)))

    def _fully_connected(self, name: str, op: int, ins: List[int], out: int) -> _Step:
        """``y = act(x @ W.T + b)`` with W ``[out, in]`` in the file, b ``[out]`` or absent."""
        if len(ins) not in (2, 3) or ins[1] < 0:
            raise UnsupportedModel("%s with inputs %s" % (name, ins))
        opts = self._options(op, _OPT_FULLY_CONNECTED)
        act = self._activation(name, opts)
        # FullyConnectedOptions 2 keep_num_dims:bool (1 weights_format is for uint8 weights)
        keep = opts is not None and bool(self._fb.scalar(opts, 2, "<B"))
        i = self._use(ins[0], name)
        operands = [j for j in ins[1:] if j >= 0]
        for j in operands:
            self._check_float(j, name)
        weights = self._constant(ins[1])
        bias = self._constant(operands[1]) if len(operands) == 2 else None
        if weights is None or weights.ndim != 2 or (len(operands) == 2 and (
                bias is None or bias.shape != weights.shape[:1])):
            raise UnsupportedModel("%s needs constant weights [out, in] and bias [out]" % name)
        W = np.ascontiguousarray(weights.T)  # [in, out] once, so each run is a plain x @ W
        n_in = W.shape[0]
        # TFLite flattens the input to [batch, in] unless keep_num_dims; our [1, 513] ->
        # [1, 128] layers need no reshape, so the per-chunk path skips it
        declared = self._shape(i, dynamic_ok=True)
        flatten = not keep and not (len(declared) == 2 and declared[1] == n_in)
        dot = np.dot  # less dispatch than @ (measured ~0.2 us a call), and the layers are tiny

        self._links.append(("dense", i, out, W, bias, act, flatten))

        def fully_connected(env: list) -> None:
            y = dot(env[i].reshape(-1, n_in), W) if flatten else dot(env[i], W)
            if bias is not None:
                y += bias
            env[out] = act(y, y) if act is not None else y
        return fully_connected

    def _reshape(self, name: str, op: int, ins: List[int], out: int) -> _Step:
        i = self._use(ins[0], name)
        if len(ins) == 2 and ins[1] >= 0:  # a shape tensor wins over the option, as in TFLite
            self._check_float(ins[1], name, (_INT32, _INT64))
            target = self._constant(ins[1])
            if target is None:
                raise UnsupportedModel("%s to a computed shape" % name)
        else:
            opts = self._options(op, _OPT_RESHAPE)                 # ReshapeOptions.new_shape
            target = self._fb.array(opts, 0, "<i4") if opts is not None else np.zeros(0)
            if not target.size:  # no new_shape: the converter's static output shape
                target = np.array(self._shape(out, dynamic_ok=True))
        shape = tuple(int(d) for d in target.reshape(-1))

        def reshape(env: list) -> None:
            env[out] = env[i].reshape(shape)  # numpy resolves a -1 as TFLite does
        return reshape
