"""The languages Whisper transcribes, by the codes clients send (``language=fr``)."""

from __future__ import annotations

from typing import Any

from chat.exceptions import BadRequest

# whisper.tokenizer.LANGUAGES' codes, in its order (tests/voice/test_languages.py checks they still match).
# Kept here so that checking a request does not import Whisper (and PyTorch) into the web process.
WHISPER_LANGUAGES = [
    "en",
    "zh",
    "de",
    "es",
    "ru",
    "ko",
    "fr",
    "ja",
    "pt",
    "tr",
    "pl",
    "ca",
    "nl",
    "ar",
    "sv",
    "it",
    "id",
    "hi",
    "fi",
    "vi",
    "he",
    "uk",
    "el",
    "ms",
    "cs",
    "ro",
    "da",
    "hu",
    "ta",
    "no",
    "th",
    "ur",
    "hr",
    "bg",
    "lt",
    "la",
    "mi",
    "ml",
    "cy",
    "sk",
    "te",
    "fa",
    "lv",
    "bn",
    "sr",
    "az",
    "sl",
    "kn",
    "et",
    "mk",
    "br",
    "eu",
    "is",
    "hy",
    "ne",
    "mn",
    "bs",
    "kk",
    "sq",
    "sw",
    "gl",
    "mr",
    "pa",
    "si",
    "km",
    "sn",
    "yo",
    "so",
    "af",
    "oc",
    "ka",
    "be",
    "tg",
    "sd",
    "gu",
    "am",
    "yi",
    "lo",
    "uz",
    "fo",
    "ht",
    "ps",
    "tk",
    "nn",
    "mt",
    "sa",
    "lb",
    "my",
    "bo",
    "tl",
    "mg",
    "as",
    "tt",
    "haw",
    "ln",
    "ha",
    "ba",
    "jw",
    "su",
    "yue",
]
_KNOWN = frozenset(WHISPER_LANGUAGES)


def parse_language(value: Any) -> str | None:
    """A language code from a request (blank: detect it), or a 400 that says what is accepted."""
    if value in (None, ""):
        return None
    code = value.strip().lower() if isinstance(value, str) else None
    if code not in _KNOWN:
        shown = value[:20] if isinstance(value, str) else value
        raise BadRequest(
            f"'language' must be a language code that Whisper knows, such as en, fr or de (got {shown!r}).",
            code="invalid_language",
        )
    return code
