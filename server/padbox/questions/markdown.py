"""A question's description: Markdown to HTML that is safe to put in a page.

markdown-it-py renders CommonMark (raw HTML passed through, so that the sanitiser can strip it rather than leave
it on the page as escaped text), and nh3 (the Rust ammonia sanitiser) keeps only an allowlist of tags and
attributes: a `<script>` or `<style>` goes with its content, any other tag not allowed goes and keeps its text, no
attribute can carry a handler and a link cannot carry `javascript:`.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table").enable("strikethrough")

TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td", "img",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"style"}, "td": {"style"}, "ol": {"start"}}


def render(text: str) -> str:
    """Markdown as sanitised HTML: no raw HTML, no script, links only to http(s) and mailto."""
    html = _markdown.render(text)
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        filter_style_properties={"text-align"},
    )
