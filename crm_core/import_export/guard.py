"""The one guard of every export: no cell of a CSV or xlsx file becomes a formula.

Excel and LibreOffice run a cell that starts with = + - or @ as a formula (CSV injection), also
when spaces, tabs, CRs or quotes come first that a reader may strip.  And a cell starts not only
where our writer starts one: a reader that splits on another delimiter than the file's (German
Excel splits a comma file on ";", English Excel a semicolon file on ",", some tools on tabs)
sees quotes in the middle of its cells as text, so it also splits inside our quoted cells and
takes their line breaks for new rows.  So a cell may start after each of , ; tab CR LF inside a
text, too.

The rule: every such piece of a text that would start with a formula sign (after any spaces,
tabs, CRs and quotes) gets an apostrophe right before the sign: "ACME;'=2*21;",
"'=HYPERLINK(…)", "'+49 30 1234" (a phone number stays readable), "'-5", "'@SUM(A1)".
Spreadsheets show such a cell as the text it is and run nothing.  A text that starts with tab or
CR gets one in front as well (OWASP's list).  Apostrophes already standing before a sign get one
more, so ``unguard_text`` (which our importer applies to every CSV cell) gives back exactly the
original text.  Cells that contain the file's own delimiter, a quote or a line break are quoted
by the CSV writer (Python's ``csv`` and DuckDB's COPY quote alike).

xlsx cells are strings, never formulas; a text this guard would change gets Excel's hidden quote
prefix there instead of a visible apostrophe, so it stays text even when someone edits the cell.

The rule exists once, as the regular expressions below: Python applies them to the cells it
writes, DuckDB (``guard_sql``; RE2 has the same syntax and leftmost matching for them) to the
cells its COPY writes, and a test keeps both byte for byte equal.
"""

from __future__ import annotations

import re

_NEEDS_LOOK = r"[=+\-@\t\r]"  # a text without any of these is never changed
_GUARD_STEPS = (
    (r"^('*[\t\r])", r"'\1"),
    (r"""(^|[,;\t\r\n])([ \t\r'"]*)([=+\-@])""", r"\1\2'\3"),
)
_UNGUARD_STEPS = (
    (r"""(^|[,;\t\r\n])([ \t\r'"]*)'([=+\-@])""", r"\1\2\3"),
    (r"^'('*[\t\r])", r"\1"),
)
_NEEDS_LOOK_RE = re.compile(_NEEDS_LOOK)
_GUARD_RE = [(re.compile(pattern), replacement) for pattern, replacement in _GUARD_STEPS]
_UNGUARD_RE = [(re.compile(pattern), replacement) for pattern, replacement in _UNGUARD_STEPS]


def guard_text(text: str) -> str:
    """The text as a cell no spreadsheet runs as a formula (the rule: see above)."""
    if not _NEEDS_LOOK_RE.search(text):
        return text
    for pattern, replacement in _GUARD_RE:
        text = pattern.sub(replacement, text)
    return text


def unguard_text(text: str) -> str:
    """The inverse of ``guard_text``: what a cell of our export said before it was guarded."""
    if "'" not in text:
        return text
    for pattern, replacement in _UNGUARD_RE:
        text = pattern.sub(replacement, text)
    return text


def sql_text(text: str) -> str:
    """A constant of this module as an SQL string literal (never user input: that is a
    parameter)."""
    return "'" + text.replace("'", "''") + "'"


def guard_sql(expression: str) -> str:
    """``guard_text`` as a DuckDB expression over a VARCHAR ``expression``."""
    guarded = expression
    for pattern, replacement in _GUARD_STEPS:
        guarded = f"regexp_replace({guarded}, {sql_text(pattern)}, {sql_text(replacement)}, 'g')"
    return (
        f"CASE WHEN regexp_matches({expression}, {sql_text(_NEEDS_LOOK)}) THEN {guarded}"
        f" ELSE {expression} END"
    )
