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

from vault.search.analysis import analyze_word, words

HIGHLIGHT_FIELDS = ("title", "place", "case_title", "case_reference")
SNIPPET_CHARS = 240


# Fields indexed whole in the skeleton field; elsewhere only capitalised
# words are (see documents.to_fields), and highlighting follows the index.
_NAME_FIELDS = ("place", "case_reference")


def _matches(word: str, stems: frozenset[str], skeletons: frozenset[str], all_names: bool) -> bool:
    forms = analyze_word(word)
    if forms.all_stems() & stems:
        return True
    is_name = all_names or word[:1].isupper() or word[:1].isdigit()
    return is_name and bool(forms.all_skeletons() & skeletons)


def snippet(text: str, stems: frozenset[str], skeletons: frozenset[str],
            limit: int = SNIPPET_CHARS, *, all_names: bool = False) -> str | None:
    """The text with matching words in ``<mark>``, escaped; None if no match.

    Long texts are cut to about ``limit`` characters around the first match.
    """
    spans = [(m.start(), m.end()) for m in words(text) if _matches(m.group(), stems, skeletons, all_names)]
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


def highlights(doc: dict[str, Any], stems: frozenset[str], skeletons: frozenset[str]) -> dict[str, str]:
    """Snippets for the fields of ``doc`` that contain a query word (and tags)."""
    out: dict[str, str] = {}
    if not stems and not skeletons:
        return out
    for field in HIGHLIGHT_FIELDS:
        value = doc.get(field)
        if value:
            marked = snippet(value, stems, skeletons, all_names=field in _NAME_FIELDS)
            if marked is not None:
                out[field] = marked
    tags = [snippet(t, stems, skeletons) for t in doc.get("tags") or []]
    if any(t is not None for t in tags):
        out["tags"] = ", ".join(t if t is not None else html.escape(raw)
                                for t, raw in zip(tags, doc["tags"], strict=True))
    return out
