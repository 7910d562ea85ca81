"""What Whisper says when it hears nothing: short stock phrases it writes for silence, breath and noise.

A short utterance whose whole transcript is one of these is dropped rather than sent to the model (the
phrases come from Whisper's training subtitles; the list is the well-known one, in the languages offered).
"""

from __future__ import annotations

import re

PHRASES = {
    "you", "thank you", "thank you very much", "thanks", "thanks for watching", "thank you for watching",
    "thanks for watching and see you next time", "please subscribe", "like and subscribe", "bye", "bye bye",
    "so", "okay", "oh", "uh", "um", "hmm", "subtitles by the amara org community", "transcription by castingwords",
    "merci", "merci d avoir regardé", "sous titrage st 501", "vielen dank", "untertitel im auftrag des zdf",
    "gracias", "gracias por ver", "grazie", "obrigado", "продолжение следует", "ご視聴ありがとうございました",
}  # fmt: skip
SHORT_MS = 2000


def normalized(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def is_hallucination(text: str, speech_ms: int) -> bool:
    """Whether a transcript is Whisper filling silence: empty, or a stock phrase from a short utterance."""
    words = normalized(text)
    return not words or (speech_ms < SHORT_MS and words in PHRASES)
