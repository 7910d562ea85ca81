"""The speech fixtures of tests/fixtures/audio (made by its make.sh), as uploads."""

from __future__ import annotations

import io
from pathlib import Path

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio"


def audio(name: str) -> io.BytesIO:
    """The fixture ``name`` as an upload, for the ``file`` or ``audio`` field of a form."""
    upload = io.BytesIO((AUDIO / name).read_bytes())
    upload.name = name
    return upload
