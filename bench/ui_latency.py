"""The chat page's own weight, and how soon a streamed token shows on screen, its markdown rendered.

    .venv/bin/python bench/ui_latency.py [--tokens 500]

A real daphne process, the test upstream streaming a 500-token markdown reply 10 ms apart (headings, bold,
links, tables, lists and a Python code block in every section, so highlighting runs), and Debian's chromium
through Playwright. For each token event the page notes when it arrived (parsed from the stream), when the DOM
held its text, and, in the next animation frame, when the reply's markdown was rendered (the page renders it
once a frame, before the frame is painted); the frame's start is the reference.
Goal: arrival to DOM update p95 <= 16 ms (one frame), and the markdown rendered within that frame.
"""

from __future__ import annotations

import argparse
import gzip
import re
import time

from common import ROOT, pct, setup_django, start_server

from tests.support.browser import launch
from tests.support.llm_server import LLMServer, Script

PROBE = """() => {
  window.__samples = [];
  document.addEventListener("chat:turn-event", ({ detail: event }) => {
    if (event.type !== "token") return;
    const arrived = performance.now();
    // app.js appends the token right after its listeners return, in the same task.
    queueMicrotask(() => {
      const inDom = performance.now();
      // Asked for after the page's own frame callback (which renders the markdown), so it runs after it.
      requestAnimationFrame((frame) => {
        const rendered = performance.now();
        window.__samples.push([inDom - arrived, Math.max(0, frame - arrived), rendered - arrived, rendered - frame]);
      });
    });
  });
}"""

SECTION = """## Step {n}

Here is **what to do** next, with `inline code`, *a little emphasis* and [a link](https://example.com/{n}).

| name | value | unit |
|:-----|------:|:----:|
| alpha | {n}1 | ms |
| beta | {n}2 | ms |

```python
def step_{n}(items: list[int]) -> int:
    \"\"\"Sum the even items.\"\"\"
    return sum(x for x in items if x % 2 == 0)
```

- one point
- another point, with ~~a mistake~~ a fix

"""


def markdown_tokens(count: int) -> list[str]:
    """A reply of ``count`` tokens (a word and the space after it), section after section."""
    tokens: list[str] = []
    n = 1
    while len(tokens) < count:
        tokens += re.findall(r"\S+\s*|\s+", SECTION.format(n=n))
        n += 1
    return tokens[:count]


def weight(files: list) -> tuple[int, int]:
    return sum(f.stat().st_size for f in files), sum(len(gzip.compress(f.read_bytes())) for f in files)


def page_weight() -> tuple[tuple[int, int], tuple[int, int]]:
    """The page's own JS and CSS; the vendored libraries (static/vendor: markdown-it, DOMPurify, highlight.js)."""
    own = sorted((ROOT / "static" / "js").glob("*.js")) + [ROOT / "static" / "css" / "app.css"]
    vendor = ROOT / "static" / "vendor"
    vendored = sorted(f for f in vendor.rglob("*") if f.is_file() and f.suffix in {".js", ".mjs", ".css"})
    return weight(own), weight(vendored)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=500)
    args = parser.parse_args()
    setup_django()
    from django.contrib.auth import get_user_model
    from playwright.sync_api import sync_playwright

    from chat.models import ChatInstance, ChatModel

    upstream = LLMServer(port=18731)
    upstream.default = Script(tokens=markdown_tokens(args.tokens), delay=0.010)
    upstream.start_in_thread()
    server = start_server("daphne", 18730)
    try:
        get_user_model().objects.create_user("ui", password="bench-password-123")
        model = ChatModel.objects.create(name="ui-bench", base_url="http://127.0.0.1:18731/v1")
        chat = ChatInstance.objects.create(owner=get_user_model().objects.get(username="ui"), chat_model=model)
        with sync_playwright() as playwright:
            browser = launch(playwright)
            page = browser.new_page(bypass_csp=True)  # the probe is injected code, which the CSP forbids
            page.goto("http://127.0.0.1:18730/accounts/login/")
            page.fill("#id_username", "ui")
            page.fill("#id_password", "bench-password-123")
            page.click("button[type=submit]")
            page.goto(f"http://127.0.0.1:18730/c/{chat.public_id}/")
            page.wait_for_load_state("networkidle")
            page.evaluate(PROBE)
            page.fill("#input", "stream please")
            started = time.monotonic()
            page.press("#input", "Enter")
            page.wait_for_selector(".msg.assistant.complete", timeout=60000)
            elapsed = time.monotonic() - started
            samples = page.evaluate("window.__samples")
            blocks = page.locator(".msg.assistant .code-block").count()
            highlighted = page.locator(".msg.assistant .code-block code.hljs").count()
            browser.close()
    finally:
        server.terminate()
        upstream.stop_thread()
    dom, frame, rendered, render = ([s[i] for s in samples] for i in range(4))
    (raw, compressed), (vendor_raw, vendor_compressed) = page_weight()
    print(f"UI latency benchmark: {args.tokens}-token markdown reply, 10 ms apart, headless chromium ({elapsed:.1f} s)")
    print(f"  page weight: JS+CSS {raw / 1024:.1f} KiB ({compressed / 1024:.1f} KiB gzipped), no framework")
    print(f"  vendored: markdown-it, DOMPurify, highlight.js and its two themes {vendor_raw / 1024:.1f} KiB"
          f" ({vendor_compressed / 1024:.1f} KiB gzipped)")  # fmt: skip
    print(f"  token events measured: {len(samples)} of {args.tokens}")
    print(f"  code blocks highlighted: {highlighted} of {blocks}")
    for name, values, goal in (
        ("arrival -> DOM updated ", dom, "   (goal p95 <= 16)"),
        ("arrival -> next frame  ", frame, "   (the reference)"),
        ("arrival -> rendered    ", rendered, "   (markdown rendered, before that frame's paint)"),
        ("frame start -> rendered", render, "   (the frame's work: rendering the markdown)"),
    ):
        print(f"  {name} ms  p50 {pct(values, 50):6.2f}  p95 {pct(values, 95):6.2f}  p99 {pct(values, 99):6.2f}{goal}")


if __name__ == "__main__":
    main()
