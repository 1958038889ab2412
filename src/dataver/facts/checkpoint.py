"""Model checkpoint facts from headers only, without torch or onnx: tensor count, parameter count
(the sum of every tensor's element count) and dtypes (torch's names: ``float32``, ``bfloat16``,
``int64``...). The tensor data is never read, so a checkpoint of any size costs a few reads.

- safetensors: an 8-byte little-endian length, then a JSON header of that length.
- PyTorch zip (``torch.save`` since 1.6): ``<name>/data.pkl`` is unpickled by an Unpickler that
  knows only an allowlist of globals, each replaced by a stub that records shapes and dtypes;
  nothing from the file is ever imported or called. Any other global (``os.system``...) makes
  the fact an error, as ``torch.load(weights_only=True)`` would refuse it.
- ONNX: the protobuf is walked field by field, seeking past everything but the graph's
  initializers (the weights), whose dims and data type are read. Weights held in Constant
  nodes are not counted.
"""
from __future__ import annotations

from dataver.facts import one_line

MAX_SAFETENSORS_HEADER = 100 << 20  # the safetensors library's own limit
MAX_PICKLE = 256 << 20  # a data.pkl holds structure, not weights: more is not a checkpoint

SAFETENSORS_DTYPES = {
    "BOOL": "bool", "U8": "uint8", "I8": "int8", "I16": "int16", "U16": "uint16",
    "F16": "float16", "BF16": "bfloat16", "I32": "int32", "U32": "uint32", "F32": "float32",
    "F64": "float64", "I64": "int64", "U64": "uint64", "C64": "complex64",
    "F8_E5M2": "float8_e5m2", "F8_E4M3": "float8_e4m3fn", "F8_E8M0": "float8_e8m0fnu",
    "F4": "float4_e2m1fn_x2",
}
ONNX_DTYPES = {
    1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
    8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64",
    14: "complex64", 15: "complex128", 16: "bfloat16", 17: "float8_e4m3fn",
    18: "float8_e4m3fnuz", 19: "float8_e5m2", 20: "float8_e5m2fnuz", 21: "uint4", 22: "int4",
    23: "float4_e2m1",
}


class CheckpointError(Exception):
    """The file is not a checkpoint this module can read (the text goes into the fact)."""


def checkpoint_fact(fp, fmt: str, size: int, path: str | None = None) -> dict:
    """The fact of the ``fmt`` checkpoint (``"safetensors"``, ``"pytorch"``, ``"onnx"``) in
    ``fp`` (a binary file at its start, seekable) of ``size`` bytes."""
    readers = {"safetensors": _safetensors, "pytorch": _pytorch, "onnx": _onnx}
    try:
        tensors = readers[fmt](fp, size)
    except Exception as exc:  # noqa: BLE001 - a bad file of any kind becomes an error fact
        return {"type": "checkpoint", "format": fmt, "error": one_line(exc, path)}
    return summary(fmt, tensors)


def summary(fmt: str, tensors: list[tuple[str, int]]) -> dict:
    """The fact from ``(dtype, element count)`` of each tensor."""
    dtypes: dict[str, int] = {}
    for dtype, _ in tensors:
        dtypes[dtype] = dtypes.get(dtype, 0) + 1
    return {"type": "checkpoint", "format": fmt, "tensors": len(tensors),
            "parameters": sum(n for _, n in tensors), "dtypes": dict(sorted(dtypes.items()))}


def _numel(shape) -> int:
    if not isinstance(shape, (list, tuple)):
        raise CheckpointError(f"bad tensor shape {shape!r:.60}")
    n = 1
    for dim in shape:
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 0:
            raise CheckpointError(f"bad tensor shape {shape!r:.60}")
        n *= dim
    return n


# --- safetensors ---------------------------------------------------------------------------

def _safetensors(fp, size: int) -> list[tuple[str, int]]:
    import json

    length = int.from_bytes(fp.read(8), "little")
    if length > MAX_SAFETENSORS_HEADER or 8 + length > size:
        raise CheckpointError(f"safetensors header length {length} is beyond "
                              f"{'the file' if 8 + length > size else 'the 100 MB limit'}")
    try:
        header = json.loads(fp.read(length))
    except ValueError as exc:
        raise CheckpointError(f"safetensors header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise CheckpointError("safetensors header is not a JSON object")
    tensors = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict) or not isinstance(info.get("dtype"), str):
            raise CheckpointError(f"safetensors entry {name!r:.60} has no dtype")
        dtype = info["dtype"]
        tensors.append((SAFETENSORS_DTYPES.get(dtype, dtype.lower()), _numel(info.get("shape"))))
    return tensors


# --- PyTorch zip ---------------------------------------------------------------------------

def _pytorch(fp, size: int) -> list[tuple[str, int]]:
    import zipfile

    if fp.read(4) != b"PK\x03\x04":
        raise CheckpointError("PyTorch file in the legacy format (before 1.6): not read")
    fp.seek(0)
    try:
        archive = zipfile.ZipFile(fp)
    except zipfile.BadZipFile as exc:
        raise CheckpointError(f"not a readable zip: {exc}") from None
    with archive:
        names = [i for i in archive.infolist()
                 if i.filename.endswith("/data.pkl") and i.filename.count("/") == 1]
        if not names:
            raise CheckpointError("zip without <name>/data.pkl: not a PyTorch checkpoint")
        if names[0].file_size > MAX_PICKLE:
            raise CheckpointError(f"data.pkl of {names[0].file_size} bytes: too large")
        data = archive.read(names[0])
    return _TorchUnpickler(data).tensors()


_TORCH_STORAGE_DTYPES = {
    "DoubleStorage": "float64", "FloatStorage": "float32", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
    "BoolStorage": "bool", "ComplexDoubleStorage": "complex128",
    "ComplexFloatStorage": "complex64", "QUInt8Storage": "quint8", "QInt8Storage": "qint8",
    "QInt32Storage": "qint32", "QUInt4x2Storage": "quint4x2", "QUInt2x4Storage": "quint2x4",
    "UntypedStorage": "uint8",
}
_TORCH_DTYPES = {
    "float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8",
    "uint16", "uint32", "uint64", "bool", "complex128", "complex64", "complex32",
    "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu",
    "quint8", "qint8", "qint32", "quint4x2", "quint2x4",
}


class _Dtype:
    """Stands for ``torch.<dtype>`` and for a storage class (its dtype) in the pickle."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


class _Stub:
    """Stands for an allowed plain-data class (argparse.Namespace, numpy scalars...): takes
    whatever the pickle does to an instance and keeps nothing."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass

    def __setitem__(self, key, value):
        pass

    def append(self, value):
        pass

    def extend(self, values):
        pass


_STUB_CLASSES = {
    ("torch", "device"), ("torch.nn.parameter", "Parameter"), ("argparse", "Namespace"),
    ("numpy", "dtype"), ("numpy", "ndarray"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"), ("pathlib", "PosixPath"),
    ("pathlib", "WindowsPath"), ("pathlib", "PurePosixPath"),
    ("pytorch_lightning.utilities.parsing", "AttributeDict"),
    ("lightning.fabric.utilities.data", "AttributeDict"),
}
_PLAIN = {("collections", "OrderedDict"): "OrderedDict", ("builtins", "set"): set,
          ("builtins", "frozenset"): frozenset, ("builtins", "complex"): complex,
          ("builtins", "slice"): slice, ("torch", "Size"): tuple}


class _TorchUnpickler:
    """Reads a ``data.pkl`` with every global replaced: torch's tensor rebuilders by functions
    that record ``(dtype, element count)``, storages by their dtype, allowed plain-data classes
    by :class:`_Stub`. Any other global raises CheckpointError: nothing named by the file is
    ever imported or run."""

    def __init__(self, data: bytes):
        self.data = data
        self.found: list[tuple[str, int]] = []

    def tensors(self) -> list[tuple[str, int]]:
        import io
        import pickle

        owner = self

        class Restricted(pickle.Unpickler):
            def find_class(self, module: str, name: str):
                return owner.find_class(module, name)

            def persistent_load(self, pid):
                return owner.persistent_load(pid)

        try:
            Restricted(io.BytesIO(self.data), encoding="utf-8").load()
        except CheckpointError:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken pickle of any kind
            raise CheckpointError(f"unreadable data.pkl: {one_line(exc)}") from None
        return self.found

    def find_class(self, module: str, name: str):
        import _compat_pickle  # Python 2 names, which protocol 2 writes (``__builtin__.set``)

        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        rebuild = _REBUILDERS.get((module, name))
        if rebuild is not None:
            return lambda *args: rebuild(self, *args)
        if module == "torch" and name in _TORCH_STORAGE_DTYPES:
            return _Dtype(_TORCH_STORAGE_DTYPES[name])
        if module == "torch" and name in _TORCH_DTYPES:
            return _Dtype(name)
        if (module, name) in _STUB_CLASSES:
            return _Stub
        plain = _PLAIN.get((module, name))
        if plain is not None:
            if plain == "OrderedDict":
                from collections import OrderedDict as plain
            return plain
        raise CheckpointError(f"refused to load global {module}.{name} (not a plain "
                              "checkpoint; torch.load(weights_only=True) refuses it too)")

    def persistent_load(self, pid):
        # torch.save: ("storage", storage class, key, location, element count)
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _Dtype)):
            raise CheckpointError(f"unknown persistent id in data.pkl: {pid!r:.60}")
        return pid[1]

    def add(self, dtype, size) -> object:
        if not isinstance(dtype, _Dtype):
            raise CheckpointError("tensor without a storage or dtype in data.pkl")
        self.found.append((dtype.name, _numel(size)))
        return _Stub()


def _tensor_v2(u, storage, offset, size, *rest):
    return u.add(storage, size)


def _tensor_v3(u, storage, offset, size, stride, grad, hooks, dtype, *rest):
    return u.add(dtype, size)


def _meta_tensor(u, dtype, size, *rest):
    return u.add(dtype, size)


def _parameter(u, data, *rest):
    return data  # the tensor it wraps is already counted


def _from_type(u, func, new_type, args, state=None):
    return func(*args)  # func came from find_class: one of these rebuilders


_REBUILDERS = {
    ("torch._utils", "_rebuild_tensor_v2"): _tensor_v2,
    ("torch._utils", "_rebuild_tensor_v3"): _tensor_v3,
    ("torch._utils", "_rebuild_qtensor"): _tensor_v2,
    ("torch._utils", "_rebuild_meta_tensor_no_storage"): _meta_tensor,
    ("torch._utils", "_rebuild_parameter"): _parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _from_type,
}


# --- ONNX ------------------------------------------------------------------------------------

def _onnx(fp, size: int) -> list[tuple[str, int]]:
    """ModelProto field 7 is the graph; GraphProto field 5 its initializers (TensorProto:
    field 1 dims, field 2 data_type)."""
    reader = _Protobuf(fp, size)
    graph = None
    for field, wire, value in reader.fields(0, size):
        if field == 7 and wire == 2:
            graph = value
    if graph is None:
        raise CheckpointError("no graph: not an ONNX model")
    tensors = []
    for field, wire, value in reader.fields(*graph):
        if field == 5 and wire == 2:
            tensors.append(_onnx_tensor(reader, value))
    return tensors


def _onnx_tensor(reader, span: tuple[int, int]) -> tuple[str, int]:
    dims, dtype = [], 0
    for field, wire, value in reader.fields(*span):
        if field == 1 and wire == 0:
            dims.append(value)
        elif field == 1 and wire == 2:  # packed
            dims.extend(reader.packed_varints(*value))
        elif field == 2 and wire == 0:
            dtype = value
    return ONNX_DTYPES.get(dtype, f"onnx_type_{dtype}"), _numel(dims)


class _Protobuf:
    """Reads protobuf fields from a file, seeking past the values not asked for."""

    def __init__(self, fp, size: int):
        self.fp = fp
        self.size = size

    def fields(self, start: int, end: int):
        """``(field number, wire type, value)`` of the message in ``[start, end)``: varints
        as ints, length-delimited values as their ``(start, end)`` span (not read)."""
        fp = self.fp
        pos = start
        while pos < end:
            fp.seek(pos)
            key, pos = self._varint(pos)
            field, wire = key >> 3, key & 7
            if wire == 0:
                value, pos = self._varint(pos)
            elif wire == 2:
                length, pos = self._varint(pos)
                value = (pos, pos + length)
                pos += length
            elif wire in (1, 5):
                value, pos = None, pos + (8 if wire == 1 else 4)
            else:
                raise CheckpointError(f"bad protobuf wire type {wire}: not an ONNX model")
            if pos > end or field == 0:
                raise CheckpointError("truncated or malformed protobuf: not an ONNX model")
            yield field, wire, value

    def packed_varints(self, start: int, end: int) -> list[int]:
        self.fp.seek(start)
        values, pos = [], start
        while pos < end:
            value, pos = self._varint(pos)
            values.append(value)
        return values

    def _varint(self, pos: int) -> tuple[int, int]:
        """The varint at the file's position ``pos`` (the file is there), and the next pos."""
        value = shift = 0
        while True:
            byte = self.fp.read(1)
            if not byte or shift > 63:
                raise CheckpointError("truncated or malformed protobuf: not an ONNX model")
            value |= (byte[0] & 0x7F) << shift
            pos += 1
            shift += 7
            if byte[0] < 0x80:
                return value, pos
