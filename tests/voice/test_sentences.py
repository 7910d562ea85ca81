"""A streamed reply cut into sentences to speak: the same sentences whatever the token boundaries."""

from __future__ import annotations

import pytest

from voice.synthesis.sentences import SentenceSplitter, speakable

REPLY = """The capital of France is **Paris**. It has about 2.1 million people, e.g. in 2024. Dr. Smith agrees!

Here is some code:

```python
print("do not. read. this")
```

1. First, see [the docs](https://example.com/docs).
2. Then run `make test` at https://example.com/ci now.
Is that all? Yes"""
SENTENCES = [
    "The capital of France is Paris.",
    "It has about 2.1 million people, e.g. in 2024.",
    "Dr. Smith agrees!",
    "Here is some code:",
    "First, see the docs.",
    "Then run make test at now.",
    "Is that all?",
    "Yes",
]


@pytest.mark.parametrize("piece", [1, 2, 3, 7, 1000])
def test_sentences_whatever_the_pieces(piece):
    splitter = SentenceSplitter()
    out = []
    for start in range(0, len(REPLY), piece):
        out += splitter.feed(REPLY[start : start + piece])
    assert out + splitter.flush() == SENTENCES


def test_a_sentence_is_given_as_soon_as_the_next_begins():
    splitter = SentenceSplitter()
    assert splitter.feed("Hello there. How") == ["Hello there."]
    assert splitter.feed(" are you?") == []
    assert splitter.flush() == ["How are you?"]


def test_a_run_on_is_cut_so_audio_starts_early():
    splitter = SentenceSplitter()
    text = "word, " * 100
    out = splitter.feed(text) + splitter.flush()
    assert len(out) > 1 and all(len(s) <= 300 for s in out)


def test_plain_text_is_read_as_it_is():
    splitter = SentenceSplitter(markdown=False)
    assert splitter.feed("Use `x` and **y**. Then ```stop```. ") + splitter.flush() == [
        "Use `x` and **y**.",
        "Then ```stop```.",
    ]


def test_speakable_drops_markup():
    assert speakable("## Title\n- **bold** _it_ `code` [link](http://a.b) | cell |") == "Title bold it code link cell"


@pytest.mark.parametrize("piece", [1, 3, 1000])
def test_the_first_sentence_may_end_at_a_clause_for_earlier_audio(piece):
    text = "Well, the capital of France, as you know, is Paris. It is large, old and busy."
    splitter = SentenceSplitter(first_clause_words=4)
    out = []
    for start in range(0, len(text), piece):
        out += splitter.feed(text[start : start + piece])
    # Only the first sentence is cut, once it has four words; "Well," alone is too short to speak apart.
    assert out + splitter.flush() == ["Well, the capital of France,", "as you know, is Paris.",
                                      "It is large, old and busy."]  # fmt: skip
    splitter = SentenceSplitter(first_clause_words=4)
    assert splitter.feed("Dr. Who is here, e.g. now. Then, a clause, here.") == ["Dr. Who is here,", "e.g. now."]
