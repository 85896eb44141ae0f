"""The JSON Schema of a spec file, for editors (yaml-language-server) and validators.

Built from the pydantic models: the layer union (full form, discriminated by ``type``), each type's
compact form ``{conv2d: {...}}``, bare names, the structures, and calls of blocks or custom layers.
"""
from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

from ..layers import LAYER_TYPES
from .blocks import BlockDef, CustomDef
from .graph import STRUCTURES
from .spec import Header

ITEM = {"$ref": "#/$defs/Item"}
ITEM_KEYS = {  # meaningful on every item (graph.ITEM_KEYS), documented here for editors
    "from": {"type": "string", "description": "Take the input from this earlier layer or block."},
    "save": {"type": "string", "description": "An extra name for this output."},
    "accumulate": {"type": "string", "description": "Add this output into the running sum of this name (the first "
                                                    "item naming it starts the sum): a skip sum over a repeat."},
    "if": {"anyOf": [{"type": "boolean"}, {"type": "string"}], "description": "Skip the item when false."},
    "repeat": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string"}],
               "description": "Repeat the item; children are named name.0, name.1, ... and see the index i."},
    "as": {"type": "string", "description": "The name of a repeat's index in its unit (default i)."},
}
_LIST = {"type": "array", "items": ITEM}
_BRANCH = {"anyOf": [_LIST, {"type": "object", "additionalProperties": False, "required": ["layers"],
                             "properties": {"layers": _LIST, "if": ITEM_KEYS["if"], "repeat": ITEM_KEYS["repeat"],
                                            "as": ITEM_KEYS["as"]},
                             "description": "A branch kept only when if: holds, or made repeat: n times."}]}
STRUCTURE_BODIES = {
    "sequential": {"layers": _LIST},
    "residual": {"body": _LIST, "shortcut": _LIST,
                 "shortcut_name": {"type": "string", "description": "The shortcut's name (default shortcut)."}},
    "parallel": {"branches": {"anyOf": [{"type": "array", "items": _BRANCH},
                                        {"type": "object", "additionalProperties": _BRANCH}]},
                 "merge": {"anyOf": [{"enum": ["add", "mul", "sub", "concat"]}, {"type": "object"}]}},
}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def json_schema() -> dict[str, Any]:
    registry = LAYER_TYPES.load_all()
    models = list(dict.fromkeys(entry.model.pydantic_model() for entry in registry.values()))
    union = Annotated[Union[tuple(models)], Field(discriminator="type")]  # type: ignore[valid-type]
    full = TypeAdapter(union).json_schema(ref_template="#/$defs/{model}")
    defs = full.pop("$defs", {})
    for model in models:
        defs[model.__name__]["properties"].update(ITEM_KEYS)
    forms: list[dict[str, Any]] = [full]
    for name, entry in sorted(registry.items()):  # compact form: {conv2d: {...}} without 'type'
        definition = defs[entry.model.__name__]  # the pydantic model keeps the declared class name
        body = {k: v for k, v in definition.items() if k not in ("required", "title", "description")}
        body["properties"] = {k: v for k, v in definition["properties"].items() if k != "type"}
        required = [r for r in definition.get("required", []) if r != "type"]
        if required:
            body["required"] = required
        forms.append(_object({name: body if required else {"anyOf": [body, {"type": "null"}]}}, [name]))
    for name, fields in STRUCTURE_BODIES.items():
        forms.append(_object({name: _object({"name": {"type": "string"}, **fields, **ITEM_KEYS})}, [name]))
    known = sorted([*registry, *STRUCTURES])
    forms.append({"enum": sorted(registry)})
    forms.append({"type": "string", "not": {"enum": known},  # a block, custom layer or Keras name
                  "description": "A block, custom layer type or Keras layer name without arguments."})
    forms.append({"type": "object", "minProperties": 1, "maxProperties": 1,  # a call with arguments
                  "propertyNames": {"not": {"enum": known}},
                  "additionalProperties": {"type": ["object", "null"]},
                  "description": "A block, custom layer type or Keras layer with its arguments."})
    defs["Item"] = {"anyOf": forms}

    schema = Header.pydantic_model().model_json_schema()
    for key, model in (("blocks", BlockDef), ("custom", CustomDef)):
        sub = model.pydantic_model().model_json_schema(ref_template="#/$defs/{model}")
        defs.update(sub.pop("$defs", {}))
        defs[model.__name__] = sub
        schema["properties"][key]["additionalProperties"] = {"$ref": f"#/$defs/{model.__name__}"}
    defs["BlockDef"]["properties"]["layers"] = {**defs["BlockDef"]["properties"]["layers"], **_LIST}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "archcalc spec"
    schema.setdefault("$defs", {}).update(defs)
    schema["properties"]["layers"] = {"description": Header.FIELDS["layers"].description, **_LIST}
    return schema
