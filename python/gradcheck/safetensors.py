"""Reads and writes safetensors files with numpy alone (no safetensors package needed).

The format: an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
shape and byte range, then the raw little-endian data.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from typing import Mapping

import numpy as np

_DTYPES = {
    np.dtype("<f8"): "F64",
    np.dtype("<f4"): "F32",
    np.dtype("<f2"): "F16",
    np.dtype("<i8"): "I64",
    np.dtype("<i4"): "I32",
    np.dtype("<i2"): "I16",
    np.dtype("i1"): "I8",
    np.dtype("u1"): "U8",
}
_NUMPY = {name: dtype for dtype, name in _DTYPES.items()}


def write_safetensors(path: str, tensors: Mapping[str, np.ndarray], metadata: Mapping[str, str] | None = None) -> None:
    """Writes `tensors` (name -> array) to `path`, whole or not at all (through a temporary file)."""
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(key): str(value) for key, value in metadata.items()}
    blobs = []
    offset = 0
    for name, value in tensors.items():
        array = np.ascontiguousarray(value)
        little = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        if little not in _DTYPES:
            raise TypeError(f"tensor {name!r}: dtype {array.dtype} is not one safetensors stores here ({', '.join(sorted(_NUMPY))})")
        data = array.astype(little, copy=False).tobytes()
        header[name] = {"dtype": _DTYPES[little], "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".gradcheck-", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(struct.pack("<Q", len(text)))
            file.write(text)
            for blob in blobs:
                file.write(blob)
        # mkstemp makes the file private; a checkpoint gets the usual permissions
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def read_safetensors(path: str) -> dict[str, np.ndarray]:
    """Every tensor of the file, by name, as numpy arrays in their stored dtype."""
    with open(path, "rb") as file:
        raw = file.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: shorter than the 8-byte header length")
    (length,) = struct.unpack("<Q", raw[:8])
    if 8 + length > len(raw):
        raise ValueError(f"{path}: the header claims {length} bytes, the file has {len(raw) - 8} after the length")
    header = json.loads(raw[8 : 8 + length])
    start = 8 + length
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = _NUMPY.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor {name!r} has dtype {info['dtype']}, which this reader does not take")
        tensors[name] = np.frombuffer(raw[start + begin : start + end], dtype=dtype).reshape(info["shape"]).copy()
    return tensors
