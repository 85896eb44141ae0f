"""Values as HTML for the report page: exact numbers with thousands separators, rationals and times as
decimals with the exact value as a tooltip, nested dicts and lists (an analysis's section) as tables."""
from __future__ import annotations

import json
import re
from fractions import Fraction
from html import escape
from typing import Any

from ..core.num import as_float, fmt_exact, fmt_number, is_concrete
from ..core.units import exact, human
from ..walk.rf import RF, AxisRF


def generic(value: Any, depth: int = 0, key: str = "") -> str:
    """A dict as a key/value table, a list of dicts as a table with a column per key, a list as a list."""
    if depth > 4:
        return f"<code>{escape(json.dumps(value, default=str))}</code>"
    if isinstance(value, dict):
        if not value:
            return "(empty)"
        rows = "".join(f'<tr><th scope="row">{escape(str(k))}</th><td{num_class(v)}>{generic(v, depth + 1, k)}'
                       "</td></tr>" for k, v in value.items())
        return f'<table class="kv"><tbody>{rows}</tbody></table>'
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, dict) for v in value):
            keys = list(dict.fromkeys(k for v in value for k in v))
            head = "".join(f"<th>{escape(str(k))}</th>" for k in keys)
            rows = "".join("<tr>" + "".join(f"<td{num_class(v.get(k))}>{generic(v.get(k), depth + 1, k)}</td>"
                                            for k in keys) + "</tr>" for v in value)
            return f'<table class="kv"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
        if len(value) > 1 and all(isinstance(v, str) and len(v) > 40 for v in value):  # sentences
            return "<ul>" + "".join(f"<li>{escape(v)}</li>" for v in value) + "</ul>"
        if all(not isinstance(v, (dict, list, tuple)) for v in value):
            return ", ".join(value_html(v, key) for v in value)
        return "<ul>" + "".join(f"<li>{generic(v, depth + 1, key)}</li>" for v in value) + "</ul>"
    return value_html(value, key)


_RATIO = re.compile(r"-?\d+/\d+")


def number(v: Any) -> int | float | Fraction | None:
    """The number a value stands for (exact rationals may come as "p/q" strings), or None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float, Fraction)):
        return v
    if isinstance(v, str) and _RATIO.fullmatch(v):
        return Fraction(v)
    return None


def value_html(v: Any, key: Any = "") -> str:
    """One value as HTML: integers with thousands separators; rationals and floats as decimals (seconds, for a
    key ending in ``_s``, in s/ms/µs/ns), with the exact value as a tooltip; anything else as text."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v).lower()
    n = number(v)
    if n is None:
        return escape(str(fmt_exact(v)))
    if isinstance(n, int):
        return f"{n:,}"
    x = as_float(n)
    if x is None:  # beyond float range: the decimal digits of the exact value
        text = fmt_number(n, ".3g") + (" s" if str(key).endswith("_s") else "")
    else:
        text = seconds(x) if str(key).endswith("_s") else f"{x:.4g}"
    return f'<span title="{attr(v)}">{escape(text)}</span>'


def seconds(x: float) -> str:
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")):
        if abs(x) >= scale:
            return f"{x / scale:.3g} {unit}"
    return f"{x:.3g} s"


def num_class(v: Any) -> str:
    return ' class="num"' if number(v) is not None else ""


def num_cell(v: Any) -> str:
    tip = f' title="{escape(human(v))}"' if is_concrete(v) else ""
    return f'<td class="num"{tip}>{escape(exact(v))}</td>'


def attr(v: Any) -> str:
    """An exact value for a data attribute: 1234, 1/2, a formula, or text; escaped."""
    if isinstance(v, float):
        return escape(repr(v))
    return escape(str(fmt_exact(v)) if not isinstance(v, str) else v)


def axes(rf: RF, key: str) -> str:
    """Per-axis values of one RF quantity, 'x'-joined (7x7), or the marker (global)."""
    values = [str(fmt_exact(getattr(a, key))) if isinstance(a, AxisRF) else str(a) for a in rf.axes]
    if values and len(set(values)) == 1 and not isinstance(rf.axes[0], AxisRF):
        return values[0]
    return "x".join(values)


def flatten(extra: dict[str, Any]) -> dict[str, Any]:
    """A layer's extra figures, one level of dicts flattened to dotted keys; deeper values as JSON."""
    out: dict[str, Any] = {}
    for key, value in extra.items():
        items = value.items() if isinstance(value, dict) else [("", value)]
        for sub, v in items:
            name = f"{key}.{sub}" if sub else str(key)
            out[name] = v if isinstance(v, (int, float, str)) or is_concrete(v) else json.dumps(v, default=str)
    return out
