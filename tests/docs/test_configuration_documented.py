"""Every environment variable the product reads is documented in docs/configuration.md, and every variable
documented there is one it reads.

The variables are found in the code, not listed by hand: in the Python of config/, chat/ and voice/, every
read of ``os.environ`` / ``os.getenv`` and every call of a settings helper (a function that reads the
environment with its first argument, like ``env_int``, or any ``env…`` callable) with a literal name; in the
shell scripts of scripts/, every ``${NAME:-default}`` and every ``$NAME`` the script does not set itself.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"
NAME = re.compile(r"[A-Z][A-Z0-9_]*\Z")
# Set by the shell or the system, not by whoever deploys.
SHELL_VARIABLES = {"PATH", "HOME", "PWD", "UID", "USER", "SHELL", "TMPDIR", "IFS", "RANDOM", "SECONDS", "LINENO"}
# Documented, and read by name only through settings: the variable the bootstrapped upstream model's key is in.
READ_THROUGH_SETTINGS = {"OPENAI_API_KEY"}


def python_files() -> list[Path]:
    return [path for folder in ("config", "chat", "voice") for path in (ROOT / folder).rglob("*.py")
            if "migrations" not in path.parts]  # fmt: skip


def _dotted(node: ast.expr) -> str:
    """``os.environ.get`` for that expression; "" for anything that is not a plain dotted name."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and (base := _dotted(node.value)):
        return f"{base}.{node.attr}"
    return ""


def _is_environ(node: ast.expr) -> bool:
    return _dotted(node) in {"os.environ", "environ"}


def _is_environ_read(call: ast.Call) -> bool:
    name = _dotted(call.func)
    return name in {"os.getenv", "getenv"} or (
        isinstance(call.func, ast.Attribute) and _is_environ(call.func.value)
        and call.func.attr in {"get", "setdefault", "pop"}
    )  # fmt: skip


def _literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and NAME.match(node.value):
        return node.value
    return None


def environment_readers(trees: list[ast.Module]) -> set[str]:
    """Functions that read the environment variable named by their first parameter (the settings' helpers)."""
    readers = set()
    for tree in trees:
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef) or not function.args.args:
                continue
            parameter = function.args.args[0].arg
            for node in ast.walk(function):
                reads = (isinstance(node, ast.Call) and _is_environ_read(node) and node.args
                         and isinstance(node.args[0], ast.Name) and node.args[0].id == parameter)  # fmt: skip
                if reads:
                    readers.add(function.name)
    return readers


def python_variables() -> dict[str, set[str]]:
    """Variable name -> the files that read it."""
    trees = {path: ast.parse(path.read_text(), str(path)) for path in python_files()}
    readers = environment_readers(list(trees.values()))
    found: dict[str, set[str]] = {}
    for path, tree in trees.items():
        for node in ast.walk(tree):
            name = None
            if isinstance(node, ast.Call) and node.args:
                callee = _dotted(node.func)
                if _is_environ_read(node) or callee in readers or callee.split(".")[0].startswith("env"):
                    name = _literal(node.args[0])
            elif isinstance(node, ast.Subscript) and _is_environ(node.value):
                name = _literal(node.slice)
            elif isinstance(node, ast.Compare) and any(_is_environ(c) for c in node.comparators):
                name = _literal(node.left)  # "NAME" in os.environ
            if name:
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def shell_variables() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "scripts").glob("*.sh")):
        text = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
        with_default = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*):?[-=?+]", text))
        used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)\}", text)) | set(re.findall(r"\$([A-Z_][A-Z0-9_]*)\b", text))
        assigned = set(re.findall(r"^\s*(?:export\s+|local\s+|readonly\s+)?([A-Z_][A-Z0-9_]*)=", text, re.MULTILINE))
        for name in (with_default | (used - assigned)) - SHELL_VARIABLES:
            found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def read_variables() -> dict[str, set[str]]:
    found = python_variables()
    for name, files in shell_variables().items():
        found.setdefault(name, set()).update(files)
    return found


def documented_in_tables() -> set[str]:
    """The variables the tables of docs/configuration.md list (backticked names in a row's first cell)."""
    names = set()
    for line in DOC.read_text().splitlines():
        if line.startswith("| `"):
            names.update(n for n in re.findall(r"`([^`]+)`", line.split("|")[1]) if NAME.match(n))
    return names


def test_the_scan_finds_the_variables_it_must():
    """The scan itself works: the settings' helpers, direct reads in commands, and the scripts' defaults."""
    found = read_variables()
    assert {"DATABASE_URL", "REDIS_MAX_CONNECTIONS", "LOCAL_LLM_PARALLEL", "TTS_MAX_INPUT_CHARS"} <= set(found)
    assert {"ADMIN_USERNAME", "ADMIN_PASSWORD", "HOST", "PORT"} <= set(found)  # bootstrap's os.environ reads
    assert {"CMAKE_ARGS", "PYTHON", "TEST_DATABASE_URL"} <= set(found)  # the scripts'
    assert "PIP" not in found and "DEBIAN_FRONTEND" not in found  # set by the scripts, not read
    assert len(found) > 80


def test_every_variable_read_is_documented():
    text = DOC.read_text()
    missing = {name: sorted(files) for name, files in read_variables().items() if f"`{name}`" not in text}
    assert not missing, f"not in docs/configuration.md: {missing}"


def test_every_variable_documented_is_read():
    stale = documented_in_tables() - set(read_variables()) - READ_THROUGH_SETTINGS
    assert not stale, f"docs/configuration.md lists variables nothing reads: {sorted(stale)}"
