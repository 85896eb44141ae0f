"""The layer catalogue, the schema and the documentation agree with each other."""
from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from layer_specs import SPECS, spec_text

from archcalc.layers import LAYER_TYPES, _index
from archcalc.read.schema import json_schema
from archcalc.read.spec import Header

ROOT = Path(__file__).resolve().parent.parent
# every zoo spec, and the small specs that use every layer type and option (tests/layer_specs.py)
ALL_SPECS = [*sorted((ROOT / "specs").glob("*.yaml")), *(spec_text(name) for name in SPECS)]


def test_static_index_matches_the_registry() -> None:
    """Modules are imported lazily from an index read off their sources; it must name every type exactly."""
    registry = LAYER_TYPES.load_all()
    assert set(_index()) == set(registry)
    for name, entry in registry.items():
        assert entry.model.__module__.endswith("." + _index()[name])


def test_every_field_has_a_description() -> None:
    models = {entry.model for entry in LAYER_TYPES.load_all().values()} | {Header}
    for model in models:
        for field_name, info in model.pydantic_model().model_fields.items():
            assert info.description, f"{model.__name__}.{field_name} has no description"
        assert model.pydantic_model().model_config["extra"] == "forbid"


def test_pydantic_models_agree_with_the_compiled_validators() -> None:
    """Every layer of every zoo spec, as validated on the fast path, is valid for the pydantic model of its
    type, which holds the same values and dumps them in a form that reads back to them; and both refuse an
    unknown field alike.

    The model's values are compared as it holds them: ``model_dump()`` is pydantic's serialization, and since
    pydantic 2.14 a Fraction there becomes text even in Python mode (pydantic/pydantic#12286), so a dump
    cannot equal the values on every release; the models say how they dump (``declare.plain``)."""
    from pydantic import ValidationError as PydanticError
    from pydantic_core import ValidationError as CoreError

    import archcalc
    from archcalc.read.graph import Leaf

    def leaves(nodes):
        for node in nodes:
            if isinstance(node, Leaf):
                yield node
            else:
                yield from leaves(node.children)
                for _, branch in node.branches:
                    yield from leaves(branch)
                if node.merge is not None:
                    yield node.merge

    seen = rationals = 0
    for spec in ALL_SPECS:
        for leaf in leaves(archcalc.load(spec).nodes):
            if leaf.user_defined:
                continue
            data = leaf.spec.to_dict()
            fast = type(leaf.spec).validate(data).to_dict()
            model = type(leaf.spec).pydantic_model().model_validate(data)
            assert dict(model) == fast
            for mode in ("python", "json"):
                assert type(leaf.spec).validate(model.model_dump(mode=mode)).to_dict() == fast, mode
            rationals += any(isinstance(v, Fraction) for v in fast.values())
            seen += 1
    assert seen > 1000 and rationals > 0  # dropout's p: 1/2 is among them
    for entry in LAYER_TYPES.load_all().values():
        bad = {"type": entry.model.TYPES[0], "no_such_field": 1}
        with pytest.raises(CoreError):
            entry.model.validate(bad)
        with pytest.raises(PydanticError):
            entry.model.pydantic_model().model_validate(bad)


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
    for spec in ALL_SPECS:
        validator.validate(yaml.safe_load(spec.read_text() if isinstance(spec, Path) else spec))


def test_schema_rejects_an_unknown_field() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    bad = {"name": "x", "input": [3, 8, 8], "layers": [{"type": "conv2d", "out_channels": 4, "kernel_size": 3,
                                                        "kernal_size": 3}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, json_schema())
