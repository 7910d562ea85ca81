"""Read the variables of a CTranslate2 ``model.bin`` with numpy (no ctranslate2 needed).

Layout (ctranslate2/specs/model_spec.py, ``_serialize``): uint32 binary version, string model name,
uint32 revision, uint32 variable count, then per variable: string name, uint8 rank, uint32 dims,
uint8 dtype id, uint32 byte count, raw bytes; then uint32 alias count and (alias, target) string pairs.
Strings are a uint16 length (including a trailing NUL) and UTF-8 bytes.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np

_DTYPES = [np.float32, np.int8, np.int16, np.int32, np.float16, None]  # bfloat16 is not needed here


class _Reader:
    def __init__(self, data: memoryview):
        self.data, self.pos = data, 0

    def unpack(self, fmt: str) -> Any:
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values[0] if len(values) == 1 else values

    def string(self) -> str:
        length = self.unpack("<H")
        text = bytes(self.data[self.pos : self.pos + length - 1]).decode()
        self.pos += length
        return text


def read_variables(path: Path) -> dict[str, np.ndarray]:
    """Every variable of the model by name, aliases resolved."""
    data = memoryview(Path(path).read_bytes())
    reader = _Reader(data)
    version = reader.unpack("<I")
    if version < 5:
        raise ValueError(f"Unsupported CTranslate2 binary version {version}")
    reader.string()  # model name
    reader.unpack("<I")  # revision
    variables: dict[str, np.ndarray] = {}
    for _ in range(reader.unpack("<I")):
        name = reader.string()
        rank = reader.unpack("<B")
        shape = [reader.unpack("<I") for _ in range(rank)]
        dtype = _DTYPES[reader.unpack("<B")]
        size = reader.unpack("<I")
        if dtype is None:
            raise ValueError(f"Variable {name} uses an unsupported dtype")
        variables[name] = np.frombuffer(data, dtype=dtype, count=size // np.dtype(dtype).itemsize,
                                        offset=reader.pos).reshape(shape)  # fmt: skip
        reader.pos += size
    for _ in range(reader.unpack("<I")):
        alias, target = reader.string(), reader.string()
        variables[alias] = variables[target]
    return variables
