"""Showing user text safely: names and notes are text, never markdown, HTML or LaTeX."""

from __future__ import annotations

import re

# CommonMark lets any ASCII punctuation be backslash-escaped; Streamlit adds $ (LaTeX) and
# :colour[...] directives, which escaping ':' '[' ']' and '$' also neutralises.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$&=\"'])")


def escape_markdown(text: object) -> str:
    """``text`` so that Streamlit's markdown shows it literally; line breaks are kept."""
    if text is None:
        return ""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))
    return escaped.replace("\n", "  \n")  # a markdown hard line break keeps the user's lines
