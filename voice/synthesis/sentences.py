"""A streamed reply cut into sentences to speak, as its tokens arrive.

``SentenceSplitter.feed`` takes text as it streams and returns the sentences it completed; ``flush`` the rest
at the end. A sentence ends at ``.``, ``!`` or ``?`` followed by a space or a line break, but not after an
abbreviation ("e.g.", "Dr.") or an initial, and not inside a number ("3.14", "1,000"); a blank line, a list
item and a heading end one too. Markdown is made speakable: fenced code blocks are left out (replaced by
nothing), markup, link targets and bare URLs are dropped, inline code keeps its text. A very long sentence
is cut at a comma or a space so that the first audio is not held back.

With ``first_clause_words`` set (spoken replies do), the first sentence may also end at a clause break (a
comma, semicolon, colon or dash) once it has that many words: the first audio then starts a few words
earlier, which is most of what a person waits for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "eg", "ie", "cf", "approx",
    "no", "fig", "inc", "ltd", "co", "dept", "est", "min", "max", "vol", "jan", "feb", "mar", "apr", "jun",
    "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mon", "tue", "wed", "thu", "fri", "sat", "sun", "u.s",
}  # fmt: skip
MAX_CHARS = 300

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_URL = re.compile(r"https?://\S+")
_MARKUP = re.compile(r"(\*\*|__|~~|`+|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w))")
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*(?=\s)")
_CLAUSE_BREAK = re.compile(r"[,;:](?=\s)|\s[—–](?=\s)")
_LINE_START = re.compile(r"^\s*(#{1,6}\s+|>\s*|[-*+]\s+|\d+[.)]\s+|\|)")


def speakable(text: str) -> str:
    """Markdown reduced to what is read aloud."""
    lines = []
    for line in text.splitlines():
        line = _LINE_START.sub("", line)
        line = _LINK.sub(r"\1", line)
        line = _URL.sub("", line)
        line = _MARKUP.sub("", line).replace("|", " ")
        lines.append(line)
    return " ".join(" ".join(lines).split())


class SentenceSplitter:
    """``markdown=False`` reads the text as it is (the speech API's input): no code blocks left out, no
    markup dropped."""

    def __init__(self, *, markdown: bool = True, first_clause_words: int = 0) -> None:
        self._markdown = markdown
        self._first_clause_words = first_clause_words
        self._emitted = False
        self._buffer = ""  # text not yet spoken (outside code blocks)
        self._line = ""  # the current line, to see fences and list items whole
        self._in_code = False

    def feed(self, text: str) -> list[str]:
        sentences: list[str] = []
        for char in text:
            self._line += char
            if char == "\n":
                sentences += self._end_line()
        if not self._in_code and (not self._markdown or not self._line.lstrip().startswith("```")):
            sentences += self._cut(self._buffer + self._line, final=False, keep_line=True)
        return sentences

    def flush(self) -> list[str]:
        if self._line and not self._in_code and (not self._markdown or not self._line.lstrip().startswith("```")):
            self._buffer += self._line
        self._line = ""
        rest, self._buffer = self._buffer, ""
        return self._cut(rest, final=True)

    def _end_line(self) -> list[str]:
        line, self._line = self._line, ""
        if not self._markdown:
            if not line.strip():
                out = self._boundary()
                return out
            self._buffer += line
            return []
        if line.lstrip().startswith("```"):
            self._in_code = not self._in_code
            return self._boundary()
        if self._in_code:
            return []
        if not line.strip() or _LINE_START.match(line):
            # A blank line ends what came before; a list item or heading starts a sentence of its own.
            out = self._boundary()
            self._buffer = line if line.strip() else ""
            return out
        self._buffer += line
        return []

    def _boundary(self) -> list[str]:
        rest, self._buffer = self._buffer, ""
        return self._cut(rest, final=True)

    def _cut(self, text: str, *, final: bool, keep_line: bool = False) -> list[str]:
        """Complete sentences of ``text``; what is left stays buffered (or is one more sentence if ``final``)."""
        out: list[str] = []
        start = 0
        if self._first_clause_words and not self._emitted and (clause := self._first_clause(text)):
            out.append(text[:clause])
            start = clause
        for end in _sentence_ends(text, start):
            out.append(text[start:end])
            start = end
        rest = text[start:]
        if len(rest) > MAX_CHARS:  # a run-on: cut at the last comma, else the last space
            cut = max(rest.rfind(", ", 0, MAX_CHARS), rest.rfind("; ", 0, MAX_CHARS))
            cut = cut + 1 if cut > 0 else rest.rfind(" ", 0, MAX_CHARS)
            if cut > 0:
                out.append(rest[:cut])
                rest = rest[cut:]
        if final:
            out.append(rest)
            rest = ""
        if keep_line:
            # ``text`` was the buffer plus the unfinished line: keep the line apart until it ends.
            kept = len(text) - len(self._line)
            consumed = len(text) - len(rest)
            if consumed >= kept:
                self._buffer, self._line = "", rest
            else:
                self._buffer = text[consumed:kept]
        else:
            self._buffer = rest
        clean = speakable if self._markdown else (lambda sentence: " ".join(sentence.split()))
        spoken = [said for sentence in out if (said := clean(sentence))]
        self._emitted = self._emitted or bool(spoken)
        return spoken

    def _first_clause(self, text: str) -> int:
        """Where the first sentence's first clause ends, if it has enough words and no sentence ends
        before it (0: nowhere yet)."""
        for match in _CLAUSE_BREAK.finditer(text):
            before = text[: match.start()]
            if next(_sentence_ends(before), None) is not None:
                return 0
            if len(speakable(before).split()) >= self._first_clause_words:
                return match.end()
        return 0


def sentences(text: str, *, markdown: bool = True) -> list[str]:
    """The sentences of a whole text, as ``SentenceSplitter`` gives them when it streams."""
    splitter = SentenceSplitter(markdown=markdown)
    return splitter.feed(text) + splitter.flush()


def _sentence_ends(text: str, start: int = 0) -> Iterator[int]:
    """Where the sentences of ``text`` end, from ``start``: after ``.``, ``!`` or ``?`` (and closing quotes)
    followed by a space, unless the period follows an abbreviation, an initial or a number's digits."""
    for match in _SENTENCE_END.finditer(text, start):
        if match.group().startswith(".") and not _ends_sentence(text[start : match.start()]):
            continue
        start = match.end()
        yield start


def _ends_sentence(before: str) -> bool:
    """Whether a period after ``before`` ends a sentence (not an abbreviation, an initial or a decimal)."""
    if before.strip().isdigit():  # "1." opening a numbered item
        return False
    word = before.rsplit(None, 1)[-1] if before.strip() else ""
    bare = word.lstrip("(\"'").lower()
    if bare in ABBREVIATIONS or bare.rstrip(".") in ABBREVIATIONS:
        return False
    return not (len(bare) == 1 and bare.isalpha() and word[:1].isupper())
