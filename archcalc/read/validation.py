"""Refusals of what a spec writes, as one located sentence: pydantic's errors reworded at the YAML line of
the offending key, names and references checked to be printable text of bounded length."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic_core import ValidationError

from ..core.errors import SpecError
from .yamlio import line_of

MAX_NAME = 200  # characters in a name (a layer, block, save or branch name, the network's)
MAX_REF = 1_000  # characters in a reference (from:, inputs:, tied_to): a name or a dotted path of names


def check_text(value: str, what: str, limit: int = MAX_NAME) -> str:
    """``value``, if it is printable text of at most ``limit`` characters; else the one-line refusal.

    ``str.isprintable`` refuses every line break ``str.splitlines`` knows (``\\n \\r \\v \\f \\x1c-\\x1e \\x85
    \\u2028 \\u2029``), control and format characters (bidi overrides, zero-width spaces), surrogates and
    spaces other than the ASCII space: a name then prints as it reads, in every output format.
    """
    if not value.isprintable():
        bad = next(c for c in value if not c.isprintable())
        kind = "a line break" if len(f"-{bad}-".splitlines()) > 1 else "a character that does not print"
        raise SpecError(f"{what} {quoted(value)} holds {bad!r}, {kind}",
                        hint="names are printable text on one line: letters, digits, spaces, punctuation")
    if len(value) > limit:
        raise SpecError(f"{what} {quoted(value)} is {len(value):,} characters long, over the limit of {limit}",
                        hint="shorten it")
    return value


def quoted(value: Any) -> str:
    """A value as an error message quotes it: its repr (control characters escaped), cut when long."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def closest(word: str, choices: list[str], n: int = 1) -> list[str]:
    """Up to ``n`` of ``choices`` that read like ``word`` (for a hint: did you mean ...?)."""
    from difflib import get_close_matches  # only when there is a mistake to explain
    return get_close_matches(word, choices, n)


def reword(error: ValidationError, data: Any, model: Any = None, header: bool = False) -> SpecError:
    """The first pydantic error as one sentence, located at the YAML line of the offending key."""
    # An unknown field explains a "missing" one (a misspelling), so report it first.
    errors = error.errors(include_url=False)
    err = min(errors, key=lambda e: {"extra_forbidden": 0, "missing": 2}.get(e["type"], 1))
    loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
    field_name = ".".join(str(p) for p in loc)
    node, line = data, None
    for part in loc:
        line = line_of(node, part) or line
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
    kind, msg = err["type"], err["msg"]
    hint = None
    if kind == "missing":
        message = f"missing required field {field_name!r}"
        hint = f"add {field_name}: <value>"
    elif kind == "extra_forbidden":
        message = f"unknown field {field_name!r}"
        allowed = [f for f in model.FIELDS if f != "type"] if model is not None else []
        near = closest(str(loc[-1]), allowed)
        hint = f"did you mean {near[0]!r}?" if near else f"allowed fields: {', '.join(allowed)}"
    elif kind == "archcalc":
        ctx = err.get("ctx") or {}
        message = f"{field_name}: {ctx.get('message', msg)}"
        hint = ctx.get("hint") or None
    else:
        got = f", got {err['input']!r}" if "input" in err and not isinstance(err["input"], Mapping) else ""
        message = f"{field_name}: {msg[0].lower() + msg[1:]}{got}"
    return SpecError(message, line=line, hint=hint)
