"""Replies are rendered to HTML on the server and sanitised with an allow-list."""

from chat.domain.markdown import render_markdown


def test_markdown_renders_the_allowed_elements():
    html = render_markdown("**bold** and `code`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~gone~~")
    assert "<strong>bold</strong>" in html and "<code>code</code>" in html
    assert "<table>" in html and "<td>1</td>" in html and "<s>gone</s>" in html


def test_links_are_safe_and_scripts_never_pass():
    html = render_markdown("[site](https://example.com) [bad](javascript:alert(1)) <script>alert(1)</script>")
    assert 'href="https://example.com"' in html and 'rel="noopener noreferrer nofollow"' in html
    assert 'href="javascript' not in html and "<script" not in html
    assert "<img" not in render_markdown('![x](https://example.com/x.png) <img src=x onerror="alert(1)">')
