"""How far a transcript is from what was said: word and character error rates with jiwer, after Whisper's
text normaliser (English text loses case, punctuation and spelling variants; other languages the basic one)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import jiwer


@cache
def _normaliser(english: bool):
    # The normalisers live in openai-whisper, whose package loads torch (seconds): not until a transcript is
    # compared, so that admin pages and server start-up do not pay for it.
    from whisper.normalizers import BasicTextNormalizer, EnglishTextNormalizer

    return EnglishTextNormalizer() if english else BasicTextNormalizer()


def normalise(text: str, language: str = "en") -> str:
    """The text as compared: Whisper's English normaliser for English (and unknown), the basic one otherwise."""
    return " ".join(_normaliser(language in ("", "en"))(text).split())


@dataclass(slots=True)
class Errors:
    """Edit counts against references; they add up, and the rates are errors over reference length."""

    pairs: int = 0
    words: int = 0
    word_errors: int = 0
    chars: int = 0
    char_errors: int = 0

    def add(self, other: Errors) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def wer(self) -> float | None:
        return self.word_errors / self.words if self.words else None

    @property
    def cer(self) -> float | None:
        return self.char_errors / self.chars if self.chars else None


def errors(reference: str, hypothesis: str, language: str = "en") -> Errors:
    """The edits from a reference (the correction) to a hypothesis (what was heard); nothing for an empty
    reference, which has no rate."""
    reference, hypothesis = normalise(reference, language), normalise(hypothesis, language)
    if not reference:
        return Errors()
    words = jiwer.process_words(reference, hypothesis)
    chars = jiwer.process_characters(reference, hypothesis)
    return Errors(
        pairs=1,
        words=words.hits + words.substitutions + words.deletions,
        word_errors=words.substitutions + words.deletions + words.insertions,
        chars=chars.hits + chars.substitutions + chars.deletions,
        char_errors=chars.substitutions + chars.deletions + chars.insertions,
    )
