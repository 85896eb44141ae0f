"""The JSON Schema of a spec file, for editors (yaml-language-server) and validators."""
from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

from .blocks import BlockDef, CustomDef
from .layers import LAYER_TYPES
from .spec import Header


def json_schema() -> dict[str, Any]:
    """Header schema whose ``layers`` items are the discriminated union, its compact forms, or a bare name."""
    registry = LAYER_TYPES.load_all()
    models = list(dict.fromkeys(entry.model for entry in registry.values()))
    union = Annotated[Union[tuple(models)], Field(discriminator="type")]  # type: ignore[valid-type]
    layer_schema = TypeAdapter(union).json_schema(ref_template="#/$defs/{model}")
    defs = layer_schema.pop("$defs", {})
    compact = []
    for name, entry in sorted(registry.items()):
        body = {k: v for k, v in defs[entry.model.__name__].items() if k != "required"}
        body["properties"] = {k: v for k, v in body["properties"].items() if k != "type"}
        required = [r for r in defs[entry.model.__name__].get("required", []) if r != "type"]
        if required:
            body["required"] = required
        compact.append({"type": "object", "properties": {name: body if required else
                                                           {"anyOf": [body, {"type": "null"}]}},
                        "required": [name], "additionalProperties": False})
    schema = Header.model_json_schema()
    for key, model in (("blocks", BlockDef), ("custom", CustomDef)):
        sub = model.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(sub.pop("$defs", {}))
        defs[model.__name__] = sub
        schema["properties"][key]["additionalProperties"] = {"$ref": f"#/$defs/{model.__name__}"}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "archcalc spec"
    schema.setdefault("$defs", {}).update(defs)
    schema["properties"]["layers"] = {
        "description": Header.model_fields["layers"].description,
        "type": "array",
        "items": {"anyOf": [layer_schema, *compact, {"enum": sorted(registry)}]},
    }
    return schema
