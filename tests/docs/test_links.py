"""The README and docs/ point at things that exist: every relative link (and its #anchor), and every
repository path they name in code spans (with the function or class after it, as in `views.py: collect_turn`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
REPOSITORY_PATH = re.compile(
    r"((?:chat|voice|config|tests|bench|scripts|static|templates|docs)/[\w./*-]*)(?::\s*(\w+))?"
)


def prose(path: Path) -> str:
    """The document without its fenced code blocks (commands and snippets, not references)."""
    return re.sub(r"^```.*?^```", "", path.read_text(), flags=re.MULTILINE | re.DOTALL)


def slug(heading: str) -> str:
    """A heading's anchor, as GitHub makes it."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(line.lstrip("#")) for line in prose(path).splitlines() if line.startswith("#")}


def ids(documents: list[Path]) -> list[str]:
    return [str(path.relative_to(ROOT)) for path in documents]


@pytest.mark.parametrize("document", DOCUMENTS, ids=ids(DOCUMENTS))
def test_every_relative_link_points_to_an_existing_file_and_anchor(document):
    broken = []
    for target in LINK.findall(prose(document)):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        path = (document.parent / file).resolve() if file else document
        if not path.exists() or (anchor and path.suffix == ".md" and anchor not in anchors(path)):
            broken.append(target)
    assert not broken, f"{document.name}: broken links {broken}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=ids(DOCUMENTS))
def test_every_path_named_exists(document):
    missing = []
    for span in CODE_SPAN.findall(prose(document)):
        if not (match := REPOSITORY_PATH.match(span)):
            continue
        name, symbol = match.groups()
        paths = list(ROOT.glob(name)) if "*" in name else [ROOT / name]
        if not any(path.exists() for path in paths):
            missing.append(name)
        elif symbol and not re.search(rf"^\s*(?:async def|def|class) {symbol}\b|^{symbol}\s*[:=]",
                                      paths[0].read_text(), re.MULTILINE):  # fmt: skip
            missing.append(f"{name}: {symbol}")
    assert not missing, f"{document.name} names what does not exist: {missing}"


def test_the_checks_can_fail(tmp_path):
    """A broken link, a missing anchor and a missing path are all caught."""
    doc = tmp_path / "doc.md"
    doc.write_text("# Title\n[a](nowhere.md) [b](#title) [c](#elsewhere) `chat/nothing.py` `chat/turns/run.py: nope`\n")
    assert LINK.findall(prose(doc)) == ["nowhere.md", "#title", "#elsewhere"]
    assert anchors(doc) == {"title"}
    spans = [REPOSITORY_PATH.match(s).groups() for s in CODE_SPAN.findall(prose(doc))]
    assert spans == [("chat/nothing.py", None), ("chat/turns/run.py", "nope")]
    assert slug("First run (`bootstrap`)") == "first-run-bootstrap"
    assert slug("Following a chat: the GET event stream") == "following-a-chat-the-get-event-stream"
