"""Text from a spec or a file name written into an output format so that it stays text: one rule per format.

Names are checked at load time (printable, on one line: ``validation.check_text``); these rules do not rely on it,
so a file name, a convention's text or a report built from Python is just as safe.
"""
from __future__ import annotations

import re
from typing import Any


def printable(text: str) -> str:
    """``text`` on one line of printable characters: every other character (line breaks, controls, format
    characters such as bidi overrides, surrogates) as its Python escape (``\\n``, ``\\x00``, ``\\u2028``)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


# ---- Python source ----

def py_str(text: str) -> str:
    """A Python string literal whose value is ``text``: ``repr``, with double quotes when the text has no quote
    (then the body holds no quote character either, so swapping the delimiters keeps the value)."""
    r = repr(str(text))
    return f'"{r[1:-1]}"' if r[0] == "'" and '"' not in text else r


def py_comment(text: str) -> str:
    """Text for a ``#`` comment: one line (only a line break ends a comment, and none is left)."""
    return printable(text)


def py_doc(text: str) -> str:
    """Text for the inside of a non-raw ``\"\"\"`` docstring whose value then holds ``text`` exactly: backslashes
    and quotes escaped (nothing can close the string or start an escape), other characters as ``printable``."""
    return "".join("\\" + c if c in "\\\"'" else c if c.isprintable() else repr(c)[1:-1] for c in str(text))


# ---- LaTeX ----

_LATEX = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#", "%": r"\%",
          "_": r"\_", "^": r"\^{}", "~": r"\textasciitilde{}", "<": r"\textless{}", ">": r"\textgreater{}",
          "|": r"\textbar{}", "[": "{[}", "]": "{]}", "*": "{*}"}


def latex(text: str) -> str:
    """Text mode LaTeX: the specials ``\\ { } $ & # % _ ^ ~`` as commands, so no control sequence survives;
    ``< > |`` as their text symbols (OT1 fonts print other glyphs); ``[ ] *`` braced (after ``\\\\`` they
    would be read as its options); on one line."""
    return "".join(_LATEX.get(c, c) for c in printable(text))


# ---- CSV ----

_NUMBER = re.compile(r"-?\d+(/\d+)?|-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def csv_cell(value: Any, text: bool = False) -> str:
    """One CSV cell. A cell that starts with ``= + - @``, a tab or a carriage return (OWASP's list), which a
    spreadsheet would read as a formula, goes behind a single quote so that it shows as text; but a number (``-3``,
    ``-1/2``) stays a number, except in a ``text`` column (a name: ``-2`` there is a name, not a number)."""
    cell = str(value)
    if cell[:1] in ("=", "+", "-", "@", "\t", "\r") and (text or not _NUMBER.fullmatch(cell)):
        return "'" + cell
    return cell


# ---- Markdown ----

_MARKDOWN = set("\\`*[]<>|~$&#")


def markdown(text: str) -> str:
    """Inline Markdown (CommonMark and GitHub's tables): a backslash before each character with inline meaning
    (``\\ ` * [ ] < > | ~ $ & #``, and ``_`` unless it sits inside a word, where it cannot emphasise), on one
    line."""
    text = printable(text)
    out = []
    for i, c in enumerate(text):
        inside = c == "_" and 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum()
        out.append("\\" + c if c in _MARKDOWN or c == "_" and not inside else c)
    return "".join(out)


# ---- matplotlib ----

def mathtext(text: str) -> str:
    """A label matplotlib draws as it reads: every ``$`` escaped, so no mathtext is parsed (an escaped dollar
    prints as ``$``), on one line. TeX rendering (``text.usetex``) is switched off where archcalc draws."""
    return printable(text).replace("$", r"\$")
