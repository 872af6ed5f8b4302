"""Run our exported ``.tflite`` encoders with numpy alone.

32-bit Raspberry Pi OS (armv7l) has no TFLite/LiteRT interpreter wheel, so
this module reads the model flatbuffer itself (no ``flatbuffers`` or
TensorFlow package) and executes the few float32 operators our exporter
emits: FULLY_CONNECTED (+ fused activation) and TANH, plus LOGISTIC, ADD,
SUB, MUL, RESHAPE, RELU, RELU6 and RELU_N1_TO_1 so small exporter changes keep
working. Anything else is refused at load time with :class:`UnsupportedModel`.

Field numbers below follow ``tensorflow/lite/schema/schema.fbs`` (checked
against TF 2.21's ``schema_py_generated.py``); a field's vtable slot is its
declaration index.
"""
from __future__ import annotations

import math
import struct
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["NumpyInterpreter", "UnsupportedModel"]

_BAD = "not a valid .tflite flatbuffer: "
_SCHEMA_VERSION = 3
_MAX_INPUT_VALUES = 1 << 24  # the load-time dry run allocates the input; refuse absurd ones

# BuiltinOperator names by code (0..209, contiguous), generated from TF 2.21's
# schema_py_generated.py; only used to name an operator in error messages.
_OP_NAMES = (
    "ADD AVERAGE_POOL_2D CONCATENATION CONV_2D DEPTHWISE_CONV_2D DEPTH_TO_SPACE DEQUANTIZE "
    "EMBEDDING_LOOKUP FLOOR FULLY_CONNECTED HASHTABLE_LOOKUP L2_NORMALIZATION L2_POOL_2D "
    "LOCAL_RESPONSE_NORMALIZATION LOGISTIC LSH_PROJECTION LSTM MAX_POOL_2D MUL RELU RELU_N1_TO_1 "
    "RELU6 RESHAPE RESIZE_BILINEAR RNN SOFTMAX SPACE_TO_DEPTH SVDF TANH CONCAT_EMBEDDINGS "
    "SKIP_GRAM CALL CUSTOM EMBEDDING_LOOKUP_SPARSE PAD UNIDIRECTIONAL_SEQUENCE_RNN GATHER "
    "BATCH_TO_SPACE_ND SPACE_TO_BATCH_ND TRANSPOSE MEAN SUB DIV SQUEEZE "
    "UNIDIRECTIONAL_SEQUENCE_LSTM STRIDED_SLICE BIDIRECTIONAL_SEQUENCE_RNN EXP TOPK_V2 SPLIT "
    "LOG_SOFTMAX DELEGATE BIDIRECTIONAL_SEQUENCE_LSTM CAST PRELU MAXIMUM ARG_MAX MINIMUM LESS NEG "
    "PADV2 GREATER GREATER_EQUAL LESS_EQUAL SELECT SLICE SIN TRANSPOSE_CONV SPARSE_TO_DENSE TILE "
    "EXPAND_DIMS EQUAL NOT_EQUAL LOG SUM SQRT RSQRT SHAPE POW ARG_MIN FAKE_QUANT REDUCE_PROD "
    "REDUCE_MAX PACK LOGICAL_OR ONE_HOT LOGICAL_AND LOGICAL_NOT UNPACK REDUCE_MIN FLOOR_DIV "
    "REDUCE_ANY SQUARE ZEROS_LIKE FILL FLOOR_MOD RANGE RESIZE_NEAREST_NEIGHBOR LEAKY_RELU "
    "SQUARED_DIFFERENCE MIRROR_PAD ABS SPLIT_V UNIQUE CEIL REVERSE_V2 ADD_N GATHER_ND COS WHERE "
    "RANK ELU REVERSE_SEQUENCE MATRIX_DIAG QUANTIZE MATRIX_SET_DIAG ROUND HARD_SWISH IF WHILE "
    "NON_MAX_SUPPRESSION_V4 NON_MAX_SUPPRESSION_V5 SCATTER_ND SELECT_V2 DENSIFY SEGMENT_SUM "
    "BATCH_MATMUL PLACEHOLDER_FOR_GREATER_OP_CODES CUMSUM CALL_ONCE BROADCAST_TO RFFT2D CONV_3D "
    "IMAG REAL COMPLEX_ABS HASHTABLE HASHTABLE_FIND HASHTABLE_IMPORT HASHTABLE_SIZE REDUCE_ALL "
    "CONV_3D_TRANSPOSE VAR_HANDLE READ_VARIABLE ASSIGN_VARIABLE BROADCAST_ARGS "
    "RANDOM_STANDARD_NORMAL BUCKETIZE RANDOM_UNIFORM MULTINOMIAL GELU DYNAMIC_UPDATE_SLICE "
    "RELU_0_TO_1 UNSORTED_SEGMENT_PROD UNSORTED_SEGMENT_MAX UNSORTED_SEGMENT_SUM ATAN2 "
    "UNSORTED_SEGMENT_MIN SIGN BITCAST BITWISE_XOR RIGHT_SHIFT STABLEHLO_LOGISTIC STABLEHLO_ADD "
    "STABLEHLO_DIVIDE STABLEHLO_MULTIPLY STABLEHLO_MAXIMUM STABLEHLO_RESHAPE STABLEHLO_CLAMP "
    "STABLEHLO_CONCATENATE STABLEHLO_BROADCAST_IN_DIM STABLEHLO_CONVOLUTION STABLEHLO_SLICE "
    "STABLEHLO_CUSTOM_CALL STABLEHLO_REDUCE STABLEHLO_ABS STABLEHLO_AND STABLEHLO_COSINE "
    "STABLEHLO_EXPONENTIAL STABLEHLO_FLOOR STABLEHLO_LOG STABLEHLO_MINIMUM STABLEHLO_NEGATE "
    "STABLEHLO_OR STABLEHLO_POWER STABLEHLO_REMAINDER STABLEHLO_RSQRT STABLEHLO_SELECT "
    "STABLEHLO_SUBTRACT STABLEHLO_TANH STABLEHLO_SCATTER STABLEHLO_COMPARE STABLEHLO_CONVERT "
    "STABLEHLO_DYNAMIC_SLICE STABLEHLO_DYNAMIC_UPDATE_SLICE STABLEHLO_PAD STABLEHLO_IOTA "
    "STABLEHLO_DOT_GENERAL STABLEHLO_REDUCE_WINDOW STABLEHLO_SORT STABLEHLO_WHILE "
    "STABLEHLO_GATHER STABLEHLO_TRANSPOSE DILATE STABLEHLO_RNG_BIT_GENERATOR REDUCE_WINDOW "
    "STABLEHLO_COMPOSITE STABLEHLO_SHIFT_LEFT STABLEHLO_CBRT STABLEHLO_CASE").split()
_TYPE_NAMES = ("FLOAT32 FLOAT16 INT32 UINT8 INT64 STRING BOOL INT16 COMPLEX64 INT8 FLOAT64 "
               "COMPLEX128 UINT64 RESOURCE VARIANT UINT32 UINT16 INT4 BFLOAT16 INT2 UINT4").split()
_FLOAT32, _INT32, _INT64 = 0, 2, 4
ADD, FULLY_CONNECTED, LOGISTIC, MUL, RELU, RELU_N1_TO_1, RELU6, RESHAPE, TANH, SUB, CUSTOM = (
    0, 9, 14, 18, 19, 20, 21, 22, 28, 41, 32)
# BuiltinOptions union tags of the options tables we read
_OPT_FULLY_CONNECTED, _OPT_ADD, _OPT_RESHAPE, _OPT_MUL, _OPT_SUB = 8, 11, 17, 21, 28


class UnsupportedModel(ValueError):
    """A well-formed model this executor cannot run (operator, tensor type, shape)."""


def _logistic(x: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
    # the tanh form never overflows float32 (1 / (1 + exp(-x)) warns for x < -88)
    y = np.tanh(x * np.float32(0.5), out=out)
    y *= 0.5
    y += 0.5
    return y


# f(x, out): out=None gives a new array, out=x works in place (a fused activation on a
# freshly computed array). Python-int bounds keep float32 under old and new numpy casting.
_Activation = Callable[[np.ndarray, Optional[np.ndarray]], np.ndarray]
_UNARY: Dict[int, _Activation] = {
    RELU: lambda x, out: np.maximum(x, 0, out=out),
    RELU_N1_TO_1: lambda x, out: np.clip(x, -1, 1, out=out),
    RELU6: lambda x, out: np.clip(x, 0, 6, out=out),
    TANH: lambda x, out: np.tanh(x, out=out),
    LOGISTIC: _logistic}
# ActivationFunctionType -> the same functions (NONE: None, SIGN_BIT: unsupported)
_ACTIVATIONS: Dict[int, Optional[_Activation]] = {
    0: None, 1: _UNARY[RELU], 2: _UNARY[RELU_N1_TO_1], 3: _UNARY[RELU6], 4: _UNARY[TANH]}
_ACTIVATION_NAMES = ("NONE", "RELU", "RELU_N1_TO_1", "RELU6", "TANH", "SIGN_BIT")
_BINARY = {ADD: (np.add, _OPT_ADD), SUB: (np.subtract, _OPT_SUB), MUL: (np.multiply, _OPT_MUL)}


class _FlatBuffer:
    """Just enough of a FlatBuffers reader: little-endian, every read bounds-checked.

    Positions are byte offsets into the file; a table is named by its position.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data

    def check(self, pos: int, size: int) -> None:
        if pos < 0 or pos + size > len(self.data):
            raise ValueError(_BAD + "offset %d (+%d) is outside the %d-byte file"
                             % (pos, size, len(self.data)))

    def _read(self, fmt: str, pos: int, size: int):
        self.check(pos, size)
        return struct.unpack_from(fmt, self.data, pos)[0]

    def ref(self, pos: int) -> int:
        """Follow the uoffset stored at ``pos`` (relative to ``pos`` itself)."""
        return pos + self._read("<I", pos, 4)

    def _field(self, table: int, slot: int) -> int:
        """Absolute position of field ``slot`` of ``table``, 0 when absent (default)."""
        vtable = table - self._read("<i", table, 4)
        entry = 4 + 2 * slot
        if entry + 2 > self._read("<H", vtable, 2):  # older writers: shorter vtables
            return 0
        off = self._read("<H", vtable + entry, 2)
        return table + off if off else 0

    def scalar(self, table: int, slot: int, fmt: str, default: int = 0) -> int:
        pos = self._field(table, slot)
        return self._read(fmt, pos, struct.calcsize(fmt)) if pos else default

    def table(self, table: int, slot: int) -> Optional[int]:
        pos = self._field(table, slot)
        return self.ref(pos) if pos else None

    def _vector(self, table: int, slot: int, itemsize: int) -> Tuple[int, int]:
        pos = self._field(table, slot)
        if not pos:
            return 0, 0
        vec = self.ref(pos)
        n = self._read("<I", vec, 4)
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

    input_shape: Tuple[int, ...]
    output_shape: Tuple[int, ...]

    def __init__(self, model_content: bytes) -> None:
        try:
            self._load(bytes(memoryview(model_content)))
        except ValueError as exc:  # UnsupportedModel and our own "not valid" messages
            if isinstance(exc, UnsupportedModel) or str(exc).startswith(_BAD):
                raise
            raise ValueError(_BAD + str(exc)) from None
        except (IndexError, KeyError, TypeError, OverflowError, struct.error,
                UnicodeDecodeError) as exc:
            raise ValueError(_BAD + "%s: %s" % (type(exc).__name__, exc)) from None

    # -- loading -------------------------------------------------------------------------

    def _load(self, data: bytes) -> None:
        if len(data) < 8 or data[4:8] != b"TFL3":
            raise ValueError(_BAD + "no TFL3 file identifier (%d bytes)" % len(data))
        fb = self._fb = _FlatBuffer(data)
        model = fb.ref(0)
        version = fb.scalar(model, 0, "<I")  # Model.version
        if version != _SCHEMA_VERSION:
            raise UnsupportedModel("TFLite schema version %d, this executor reads %d"
                                   % (version, _SCHEMA_VERSION))
        # OperatorCode: 0 deprecated_builtin_code:byte, 1 custom_code, 3 builtin_code:int;
        # codes > 127 sit in builtin_code with 127 in the old field, hence max() as TFLite does
        self._codes = [(max(fb.scalar(c, 0, "<b"), fb.scalar(c, 3, "<i")), fb.string(c, 1))
                       for c in fb.tables(model, 1)]
        self._buffers = fb.tables(model, 4)                  # Model.buffers
        subgraphs = fb.tables(model, 2)                      # Model.subgraphs
        if len(subgraphs) != 1:
            raise UnsupportedModel("%d subgraphs; the numpy executor runs exactly one"
                                   % len(subgraphs))
        sg = subgraphs[0]
        self._tensors = fb.tables(sg, 0)                     # SubGraph.tensors
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
        self._template: List[Optional[np.ndarray]] = [None] * len(self._tensors)
        self._steps: List[Callable[[list], None]] = []
        ready = {self._in}
        names = []
        for op in fb.tables(sg, 3):                          # SubGraph.operators, run order
            code, name = self._opcode(fb.scalar(op, 0, "<I"))  # Operator.opcode_index
            ins = [int(i) for i in fb.array(op, 1, "<i4")]     # Operator.inputs (-1: absent)
            outs = [int(i) for i in fb.array(op, 2, "<i4")]    # Operator.outputs
            if len(outs) != 1:
                raise UnsupportedModel("%s with %d outputs" % (name, len(outs)))
            out = self._index(outs[0])
            self._steps.append(self._build(code, name, op, ins, out))  # checks operand types
            for i in ins:  # TFLite runs operators in file order: inputs must exist by now
                if i >= 0 and i not in ready and self._constant(i) is None:
                    raise UnsupportedModel("%s reads tensor %r before anything writes it"
                                           % (name, self._name(i)))
            names.append(name)
            ready.add(out)
        if self._out not in ready:
            raise UnsupportedModel("no operator computes the model output")
        self._dry_run(names)
        del self._fb, self._buffers, self._tensors, self._consts  # weights are copied out

    def _dry_run(self, names: Sequence[str]) -> None:
        """Run once on zeros: shape mismatches fail here, naming the operator, not mid-show."""
        env = list(self._template)
        env[self._in] = np.zeros(self.input_shape, np.float32)
        for k, (step, name) in enumerate(zip(self._steps, names)):
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
        return self._fb.string(self._tensors[self._index(i)], 3)   # Tensor.name

    def _shape(self, i: int, dynamic_ok: bool = False) -> Tuple[int, ...]:
        shape = tuple(int(d) for d in self._fb.array(self._tensors[self._index(i)], 0, "<i4"))
        if any(d < 0 for d in shape) and not dynamic_ok:
            raise UnsupportedModel("tensor %r has a dynamic shape %s" % (self._name(i), shape))
        return tuple(-1 if d < 0 else d for d in shape) if dynamic_ok else shape

    def _type(self, i: int) -> int:
        return self._fb.scalar(self._tensors[self._index(i)], 1, "<b")  # Tensor.type

    def _check_float(self, i: int, what: str, allowed: Tuple[int, ...] = (_FLOAT32,)) -> None:
        ttype = self._type(i)
        if ttype not in allowed:
            tname = _TYPE_NAMES[ttype] if 0 <= ttype < len(_TYPE_NAMES) else str(ttype)
            raise UnsupportedModel("%s: tensor %r is %s; the numpy executor runs float32 models "
                                   "only (not quantized ones)" % (what, self._name(i), tname))
        if self._fb.table(self._tensors[self._index(i)], 6) is not None:  # Tensor.sparsity
            raise UnsupportedModel("%s: tensor %r is sparse" % (what, self._name(i)))

    def _constant(self, i: int) -> Optional[np.ndarray]:
        """The constant data of tensor ``i`` as its own array, or None (computed at run time)."""
        i = self._index(i)
        if i not in self._consts:
            self._consts[i] = self._read_constant(i)
        return self._consts[i]

    def _read_constant(self, i: int) -> Optional[np.ndarray]:
        t = self._tensors[i]
        b = self._fb.scalar(t, 2, "<I")                                # Tensor.buffer
        if not 0 <= b < len(self._buffers):
            raise ValueError(_BAD + "buffer index %d out of range" % b)
        buf = self._buffers[b]
        # Buffer: 0 data:[ubyte]; models > 2 GB use 1 offset:ulong / 2 size:ulong instead,
        # the offset counted from the start of the file (values 0 and 1 mean unused)
        offset, size = self._fb.scalar(buf, 1, "<Q"), self._fb.scalar(buf, 2, "<Q")
        if offset > 1:
            if offset + size > len(self._fb.data):
                raise ValueError(_BAD + "buffer %d lies outside the file" % b)
            raw = self._fb.data[offset:offset + size]
        else:
            raw = self._fb.array(buf, 0, "<u1").tobytes()
        if not raw:
            return None
        ttype = self._type(i)
        dtype = {_FLOAT32: "<f4", _INT32: "<i4", _INT64: "<i8"}.get(ttype)
        if dtype is None:
            return None  # _check_float rejects it wherever it is used
        shape = self._shape(i)
        if len(raw) != math.prod(shape) * np.dtype(dtype).itemsize:
            raise ValueError(_BAD + "tensor %r holds %d bytes for shape %s"
                             % (self._name(i), len(raw), shape))
        return np.frombuffer(raw, dtype).reshape(shape).astype(dtype[1:], copy=True)

    def _opcode(self, index: int) -> Tuple[int, str]:
        if not 0 <= index < len(self._codes):
            raise ValueError(_BAD + "opcode index %d out of range" % index)
        code, custom = self._codes[index]
        if code == CUSTOM:
            return code, "CUSTOM(%s)" % custom
        return code, _OP_NAMES[code] if 0 <= code < len(_OP_NAMES) else "operator #%d" % code

    def _options(self, op: int, tag: int) -> Optional[int]:
        # Operator 3 builtin_options_type:ubyte, 4 builtin_options (union table)
        return self._fb.table(op, 4) if self._fb.scalar(op, 3, "<B") == tag else None

    def _activation(self, name: str, options: Optional[int]) -> Optional[Callable]:
        act = self._fb.scalar(options, 0, "<b") if options is not None else 0
        if act not in _ACTIVATIONS:
            raise UnsupportedModel("%s with fused activation %s" % (
                name, _ACTIVATION_NAMES[act] if 0 <= act < len(_ACTIVATION_NAMES) else act))
        return _ACTIVATIONS[act]

    def _build(self, code: int, name: str, op: int, ins: List[int], out: int
               ) -> Callable[[list], None]:
        """One operator -> ``step(env)``, ``env`` being the list of tensor values by index."""
        if code == FULLY_CONNECTED:
            return self._fully_connected(name, op, ins, out)
        if code in _UNARY and len(ins) == 1:
            fn, i = _UNARY[code], self._use(ins[0], name)

            def unary(env: list) -> None:
                env[out] = fn(env[i], None)
            return unary
        if code in _BINARY and len(ins) == 2:
            ufunc, tag = _BINARY[code]
            act = self._activation(name, self._options(op, tag))
            a, b = self._use(ins[0], name), self._use(ins[1], name)

            def binary(env: list) -> None:
                y = ufunc(env[a], env[b])  # numpy broadcasting = TFLite's for these ops
                env[out] = act(y, y) if act is not None else y
            return binary
        if code == RESHAPE and len(ins) in (1, 2):
            i = self._use(ins[0], name)
            new_shape = None
            if len(ins) == 2 and ins[1] >= 0:  # the shape tensor wins over the option, as in TFLite
                self._check_float(ins[1], name, (_INT32, _INT64))
                new_shape = self._constant(ins[1])
                if new_shape is None:
                    raise UnsupportedModel("RESHAPE to a computed shape")
            else:
                opts = self._options(op, _OPT_RESHAPE)
                if opts is not None:                           # ReshapeOptions 0 new_shape
                    new_shape = self._fb.array(opts, 0, "<i4")
            target = tuple(int(d) for d in (new_shape if new_shape is not None and new_shape.size
                                            else self._shape(out, dynamic_ok=True)))

            def reshape(env: list) -> None:
                env[out] = env[i].reshape(target)  # numpy resolves a -1 like TFLite
            return reshape
        if code in _UNARY or code in _BINARY or code == RESHAPE:
            raise UnsupportedModel("%s with %d inputs" % (name, len(ins)))
        raise UnsupportedModel("operator %s is not supported by the numpy executor (it runs "
                               "FULLY_CONNECTED, TANH, LOGISTIC, RELU, RELU6, RELU_N1_TO_1, "
                               "ADD, SUB, MUL, RESHAPE)" % name)

    def _use(self, i: int, name: str) -> int:
        """Check a float operand; put its constant value (if any) into the env template."""
        self._check_float(i, name)
        const = self._constant(i)
        if const is not None:
            self._template[i] = const
        return self._index(i)

    def _fully_connected(self, name: str, op: int, ins: List[int], out: int
                         ) -> Callable[[list], None]:
        if len(ins) not in (2, 3) or ins[1] < 0:
            raise UnsupportedModel("%s with inputs %s" % (name, ins))
        opts = self._options(op, _OPT_FULLY_CONNECTED)
        act = self._activation(name, opts)
        # FullyConnectedOptions: 1 weights_format:byte, 2 keep_num_dims:bool
        if opts is not None and self._fb.scalar(opts, 1, "<b") != 0:
            raise UnsupportedModel("%s with shuffled (quantized) weights" % name)
        keep = opts is not None and bool(self._fb.scalar(opts, 2, "<B"))
        i = self._use(ins[0], name)
        has_bias = len(ins) == 3 and ins[2] >= 0
        for j in ins[1:1 + has_bias + 1]:
            self._check_float(j, name)
        weights = self._constant(ins[1])
        bias = self._constant(ins[2]) if has_bias else None
        if weights is None or weights.ndim != 2 or (has_bias and (
                bias is None or bias.shape != (weights.shape[0],))):
            raise UnsupportedModel("%s needs constant weights [out, in] and bias [out]" % name)
        declared = self._shape(i, dynamic_ok=True)
        # [out, in] -> contiguous [in, out] once, so run() is a plain x @ W
        W = np.ascontiguousarray(weights.T, dtype=np.float32)
        n_in = W.shape[0]
        # TFLite flattens the input to [batch, in] (keep_num_dims: keeps its leading axes);
        # our [1, 513] -> [1, 128] layers need no reshape, so skip it in the per-chunk path
        flatten = not keep and not (len(declared) == 2 and declared[1] == n_in)
        dot = np.dot

        def fully_connected(env: list) -> None:
            # np.dot, not @: ~0.2 us less dispatch per call, and these layers are tiny
            y = dot(env[i].reshape(-1, n_in), W) if flatten else dot(env[i], W)
            if bias is not None:
                y += bias
            env[out] = act(y, y) if act is not None else y
        return fully_connected

    # -- running -------------------------------------------------------------------------

    def run(self, x: np.ndarray) -> np.ndarray:
        """One forward pass.

        :param x: float32 array of :attr:`input_shape` (other dtypes are converted; an
            array of the same size is reshaped).
        :returns: a new float32 array of :attr:`output_shape`.
        """
        x = np.asarray(x, dtype=np.float32)
        if x.shape != self.input_shape:
            x = x.reshape(self.input_shape)
        env = self._template.copy()
        env[self._in] = x
        for step in self._steps:
            step(env)
        return env[self._out]
