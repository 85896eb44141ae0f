"""What every Hugging Face family writer shares: typed reads of config.json values that refuse what they do not
handle, and YAML text that config strings cannot break out of."""
from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from ..core.errors import SpecError
from ..core.escape import printable

_MISSING = object()
LARGEST = 10**12  # the largest size or count a config may give: far beyond any model, small enough to be cheap


def yaml_str(text: Any) -> str:
    """A double-quoted YAML scalar whose value is ``text``: JSON's quoting (ASCII, every control escaped) is valid
    YAML, so no quote, colon, ``#`` or line break in a config string can end the scalar or start a comment."""
    return json.dumps(str(text), ensure_ascii=True)


def yaml_float(value: float) -> str:
    """A float as YAML 1.1 reads it back as a float (``1.0e-05``, not ``1e-05``, which it reads as text)."""
    text = repr(float(value))
    mantissa, e, exponent = text.partition("e")
    return f"{mantissa if '.' in mantissa else mantissa + '.0'}{e}{exponent}"


def shown(value: Any) -> str:
    """A config value in a message: its repr, cut short (a huge integer has none: Python's digit limit)."""
    try:
        text = repr(value)
    except ValueError:
        return "a huge integer"
    return text if len(text) <= 60 else text[:57] + "..."


def comment(text: Any) -> str:
    """Text for a ``#`` comment: one line of printable characters."""
    return printable(str(text))


class Config:
    """A config.json read for one family: each value is checked as it is read, and every value the writer
    ignores because it changes no count is noted, for the spec's header."""

    def __init__(self, config: Mapping[str, Any], source: str, family: str) -> None:
        self.config, self.source, self.family = config, source, family
        self.notes: list[str] = []

    def error(self, key: str, message: str, hint: str) -> SpecError:
        return SpecError(f"model_type {self.family}: {key} {message}", file=self.source, hint=hint)

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        if key in self.config and self.config[key] is not None:
            return self.config[key]
        if default is _MISSING:
            raise self.error(key, "is missing", f"add {key} to the config")
        return default

    def int(self, key: str, default: Any = _MISSING) -> Any:
        """A positive integer, or None where that is the default (an absent option)."""
        value = self.raw(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.error(key, f"= {shown(value)} is not a positive integer", "fix the config")
        if value > LARGEST:
            raise self.error(key, f"= {shown(value)} is beyond any model's size", f"give at most {LARGEST:,}")
        return value

    def number(self, key: str, default: Any = _MISSING) -> float:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or isinstance(value, int) and \
                abs(value) > LARGEST or not math.isfinite(value) or value <= 0:
            raise self.error(key, f"= {shown(value)} is not a positive number", "fix the config")
        return float(value)

    def flag(self, key: str, default: Any = _MISSING) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"= {shown(value)} is not true or false", "fix the config")
        return value

    def only(self, key: str, allowed: tuple[Any, ...], default: Any = None) -> Any:
        """A value the writer handles only in ``allowed`` (None: absent); anything else changes the counts."""
        value = self.config.get(key, default)
        if value is None:
            value = default
        if not any(value == a and type(value) is type(a) for a in allowed):
            handled = ", ".join("absent" if a is None else json.dumps(a) for a in allowed)
            raise self.error(key, f"= {shown(value)} changes the counts and is not handled",
                             f"archcalc import hf handles {handled}; write that part of the spec by hand")
        return value

    def choice(self, key: str, mapping: Mapping[str, str], default: Any = _MISSING) -> str:
        """A named option mapped to archcalc's name for it (an activation)."""
        value = self.raw(key, default)
        if not isinstance(value, str) or value not in mapping:
            raise self.error(key, f"= {shown(value)} is not handled",
                             f"archcalc import hf handles {', '.join(mapping)}")
        return mapping[value]

    def ignore(self, key: str, why: str) -> None:
        """A present option that changes no count: said in the header."""
        if self.config.get(key) is not None:
            self.notes.append(f"{key} ignored: {why}")


def spec_name(source: str, family: str) -> str:
    """The spec's name: the config file's stem as an identifier, or the family for a plain config.json."""
    stem = re.sub(r"\W+", "_", source.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".json"), flags=re.ASCII)
    stem = stem.strip("_").lower()
    return stem if stem and stem != "config" and not stem[0].isdigit() else family
