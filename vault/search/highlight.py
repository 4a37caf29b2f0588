"""Highlighted, HTML-safe snippets of the matched metadata fields.

Not whoosh's highlighter: it would need the query terms per field and
re-analysis through whoosh; this one re-uses :func:`analyze_word`, so a word
is marked exactly when it would have matched. Every character that is not
our own ``<mark>`` tag goes through ``html.escape``: a title containing
``<script>`` comes out as ``&lt;script&gt;``.
"""

from __future__ import annotations

import html
from typing import Any

from vault.search.analysis import WORD_RE, analyze_word

HIGHLIGHT_FIELDS = ("title", "place", "case_title", "case_reference")
SNIPPET_CHARS = 240


# Fields indexed whole in the skeleton field; elsewhere only capitalised
# words are (see documents.to_fields), and highlighting follows the index.
_NAME_FIELDS = ("place", "case_reference")


class Highlighter:
    """Marks the words of one search's query; one per search, reused for every hit.

    Whether a word matches, and each field value's snippet, are remembered:
    the hits of one search repeat most of their words, places and case titles.
    """

    def __init__(self, stems: frozenset[str], skeletons: frozenset[str]) -> None:
        self.stems = stems
        self.skeletons = skeletons
        # word -> matches?, for name fields (every word may be a name) and others
        self._seen: dict[bool, dict[str, bool]] = {True: {}, False: {}}
        self._snippets: dict[tuple[str, bool], str | None] = {}

    def matches(self, word: str, all_names: bool) -> bool:
        forms = analyze_word(word)
        if forms.all_stems() & self.stems:
            return True
        is_name = all_names or word[:1].isupper() or word[:1].isdigit()
        return is_name and bool(forms.all_skeletons() & self.skeletons)

    def snippet(self, text: str, limit: int = SNIPPET_CHARS, *, all_names: bool = False) -> str | None:
        """The text with matching words in ``<mark>``, escaped; None if no match.

        Long texts are cut to about ``limit`` characters around the first match.
        """
        key = (text, all_names)
        if key not in self._snippets:
            self._snippets[key] = self._snippet(text, limit, all_names)
        return self._snippets[key]

    def _snippet(self, text: str, limit: int, all_names: bool) -> str | None:
        seen = self._seen[all_names]
        spans = []
        for m in WORD_RE.finditer(text):
            word = m.group()
            hit = seen.get(word)
            if hit is None:
                hit = seen[word] = self.matches(word, all_names)
            if hit:
                spans.append(m.span())
        if not spans:
            return None
        start, end = 0, len(text)
        if len(text) > limit:
            start = max(0, spans[0][0] - limit // 3)
            end = min(len(text), start + limit)
        out = ["…" if start > 0 else ""]
        cursor = start
        for s, e in spans:
            if s < start or e > end:
                continue
            out.append(html.escape(text[cursor:s]))
            out.append("<mark>" + html.escape(text[s:e]) + "</mark>")
            cursor = e
        out.append(html.escape(text[cursor:end]))
        out.append("…" if end < len(text) else "")
        return "".join(out)

    def highlights(self, doc: dict[str, Any]) -> dict[str, str]:
        """Snippets for the fields of ``doc`` that contain a query word (and tags)."""
        out: dict[str, str] = {}
        if not self.stems and not self.skeletons:
            return out
        for field in HIGHLIGHT_FIELDS:
            value = doc.get(field)
            if value:
                marked = self.snippet(value, all_names=field in _NAME_FIELDS)
                if marked is not None:
                    out[field] = marked
        tags = [self.snippet(t) for t in doc.get("tags") or []]
        if any(t is not None for t in tags):
            out["tags"] = ", ".join(t if t is not None else html.escape(raw)
                                    for t, raw in zip(tags, doc["tags"], strict=True))
        return out

