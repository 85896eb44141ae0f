"""``archcalc import hf CONFIG.json``: a Hugging Face config.json, read as JSON (no transformers at run time),
written as a spec in the zoo's style by the writer of its ``model_type``.

The family modules each define ``FAMILIES``: model_type -> function (config, source name) -> the spec's YAML
text. The decoder-only families are in hf_decoders; the encoder and encoder-decoder ones in hf_encoders.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from ..core.errors import SpecError
from . import hf_decoders, hf_encoders
from .hf_common import shown


def families() -> dict[str, Callable[[Mapping[str, Any], str], str]]:
    """Every model_type a writer handles."""
    return {**hf_decoders.FAMILIES, **hf_encoders.FAMILIES}


def parse_config(text: str, source: str) -> dict[str, Any]:
    """config.json's object; JSON errors and a non-object are one line."""
    try:
        config = json.loads(text, parse_constant=_no_constant)
    except SpecError as e:
        raise e.locate(file=source) from None
    except json.JSONDecodeError as e:
        raise SpecError(f"not JSON: {e.msg}", file=source, line=e.lineno,
                        hint="a Hugging Face config.json is one JSON object") from None
    except RecursionError:
        raise SpecError("not a config: nested too deeply", file=source) from None
    except ValueError as e:  # an integer beyond Python's digit limit
        raise SpecError(f"not a config: {e}", file=source, hint="give numbers of a sensible size") from None
    if not isinstance(config, dict):
        raise SpecError(f"not a config: the JSON is a {type(config).__name__}, not an object", file=source,
                        hint="a Hugging Face config.json is one JSON object")
    return config


def is_config(text: str) -> bool:
    """Whether ``text`` is a Hugging Face config (a JSON object with a model_type) rather than a spec written as
    JSON (which has layers)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict) and "model_type" in data and "layers" not in data


def _no_constant(name: str) -> Any:
    raise SpecError(f"not a config: {name} is not a JSON number", hint="give a finite number")


def to_spec(config: Mapping[str, Any], source: str) -> str:
    """The spec's YAML text for ``config`` (``source`` names it in the header and in errors)."""
    model_type = config.get("model_type")
    writers = families()
    if not isinstance(model_type, str) or model_type not in writers:
        named = "missing" if model_type is None else shown(model_type)
        raise SpecError(f"model_type {named} is not supported by archcalc import hf", file=source,
                        hint=f"supported: {', '.join(sorted(writers))}")
    return writers[model_type](config, source)


def import_file(path: str) -> str:
    """The spec's YAML text for the config.json at ``path`` (``-``: standard input), read with the spec reader's
    size bound."""
    from ..read.spec import read_text
    text, shown = read_text(path)
    return to_spec(parse_config(text, shown), shown)
