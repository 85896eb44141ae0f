"""The layer catalogue, the schema and the documentation agree with each other."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from archcalc.layers import LAYER_TYPES, _index
from archcalc.schema import json_schema
from archcalc.spec import Header

ROOT = Path(__file__).resolve().parent.parent


def test_static_index_matches_the_registry() -> None:
    """Modules are imported lazily from an index read off their sources; it must name every type exactly."""
    registry = LAYER_TYPES.load_all()
    assert set(_index()) == set(registry)
    for name, entry in registry.items():
        assert entry.model.__module__.endswith("." + _index()[name])


def test_every_field_has_a_description() -> None:
    models = {entry.model for entry in LAYER_TYPES.load_all().values()} | {Header}
    for model in models:
        for field_name, info in model.model_fields.items():
            if field_name == "type":
                continue
            assert info.description, f"{model.__name__}.{field_name} has no description"


def test_readme_documents_every_layer_type() -> None:
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"`([a-z_0-9]+)`", readme))
    # families written as conv1d/2d/3d in the table
    for match in re.findall(r"`([a-z_]+)1d/2d/3d`", readme):
        documented |= {f"{match}{d}d" for d in (1, 2, 3)}
    missing = sorted(set(LAYER_TYPES) - documented)
    assert not missing, f"README lacks: {missing}"


def test_schema_accepts_every_zoo_spec() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json_schema()
    json.dumps(schema)  # serialisable
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted((ROOT / "specs").glob("*.yaml")):
        validator.validate(yaml.safe_load(path.read_text()))


def test_schema_rejects_an_unknown_field() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    bad = {"name": "x", "input": [3, 8, 8], "layers": [{"type": "conv2d", "out_channels": 4, "kernel_size": 3,
                                                        "kernal_size": 3}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, json_schema())
