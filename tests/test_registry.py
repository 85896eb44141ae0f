"""Every layer type is complete: a formula, a PyTorch translation, a rule in every preset, a line in the archcalc
convention's rules, a row in the README's layer table and a small spec in tests/layer_specs.py. Each test names the
types that lack its piece and where the piece goes.

The registry is the one the spec reader uses: archcalc.layers.LAYER_TYPES, whose names are read off the layer
modules' TYPES declarations and whose entries @formula registers.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from layer_specs import SPECS, spec_text

import archcalc
from archcalc.layers import LAYER_TYPES
from archcalc.read.graph import Group, Leaf

ROOT = Path(__file__).resolve().parent.parent
TYPES = sorted(LAYER_TYPES)  # the names the layer modules declare in TYPES, which the spec reader accepts
PRESETS = sorted(p.stem for p in (ROOT / "archcalc" / "count" / "conventions").glob("*.yaml"))


def missing(what: str, lacking: list[str], where: str) -> str:
    return f"{len(lacking)} layer type(s) without {what}: {', '.join(lacking)} (add it in {where})"


def test_the_registry_is_not_empty() -> None:
    assert len(TYPES) > 70 and "conv2d" in TYPES and "pixel_shuffle" in TYPES and len(PRESETS) == 6


def test_every_type_has_a_formula() -> None:
    registered = LAYER_TYPES.load_all()
    lacking = [t for t in TYPES if t not in registered or not callable(registered[t].formula)]
    assert not lacking, missing("a formula", lacking, "its layer module, with @formula(<its model>)")


def test_every_type_has_a_torch_translation() -> None:
    from archcalc.export.pytorch import TORCH
    lacking = [t for t in TYPES if t not in TORCH]
    assert not lacking, missing("a PyTorch translation", lacking, "archcalc/export/torch_*.py, @torch_code")


@pytest.mark.parametrize("preset", PRESETS)
def test_every_type_has_a_rule_in_every_preset(preset: str) -> None:
    """A preset has no fallback for archcalc's own types (its `kinds` are for custom layers): each needs its rule."""
    from archcalc.count.preset import load
    rules = load(preset).per_type
    lacking = [t for t in TYPES if t not in rules]
    assert not lacking, missing(f"a rule in the {preset} preset", lacking, f"archcalc/count/conventions/{preset}.yaml")


def _family(name: str) -> set[str]:
    """The names a rule may give a type by: itself, and its family (conv_transpose2d -> conv, batchnorm1d ->
    batchnorm, adaptive_maxpool3d -> adaptive and maxpool, global_avgpool -> global, scaled_dot_product_attention
    -> attention)."""
    base = re.sub(r"[123]d$", "", name)
    out = {name, base, base.removesuffix("_transpose")}
    for prefix in ("adaptive_", "global_"):
        if base.startswith(prefix):
            out |= {prefix.rstrip("_"), base.removeprefix(prefix)}
    if base.endswith("_attention"):
        out.add("attention")
    return out


def test_every_type_has_a_line_in_the_archcalc_rules() -> None:
    """archcalc's own convention states how it counts each type: a rule whose key names the type or its family
    (`conv/linear/matmul`, `activation.relu`), or whose text names it (positional_embedding, under embedding)."""
    from archcalc.count.convention import ARCHCALC
    rules = ARCHCALC.rules()
    keys = {word for key in rules for part in key.split("/") for word in (part, *part.split(), part.split(".")[-1])}
    words = {w for text in rules.values() for w in re.findall(r"[a-z_0-9]+", text)}
    lacking = [t for t in TYPES if not (_family(t) & keys or t in words)]
    assert not lacking, missing("a line in the archcalc convention's rules", lacking,
                                "archcalc/count/convention.py, _archcalc_rules")


def _readme_types() -> set[str]:
    """The types the README's layer table names: backticked names in its first column (and in the second, for the
    activations row), with `x1d/2d/3d` meaning x1d, x2d and x3d."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Layer types", 1)[1].split("\n\n", 2)[1]
    names: set[str] = set()
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        for cell in cells[:2] if cells[0] == "activations" else cells[:1]:
            for token in re.findall(r"`([a-z_0-9/]+)`|\b([a-z_]+1d/2d/3d)\b", cell):
                token = token[0] or token[1]
                family = re.fullmatch(r"([a-z_]+)1d/2d/3d", token)
                names |= {f"{family.group(1)}{d}d" for d in (1, 2, 3)} if family else {token}
    return names


def test_every_type_has_a_readme_row() -> None:
    documented = _readme_types()
    assert {"conv1d", "conv_transpose3d", "relu", "pixel_unshuffle", "einsum"} <= documented  # the table is read
    lacking = [t for t in TYPES if t not in documented]
    assert not lacking, missing("a row in the README's layer table", lacking, "README.md, ### Layer types")


def _types(nodes: list) -> set[str]:
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, Leaf):
            out.add(node.type)
            continue
        assert isinstance(node, Group)
        out |= _types(node.children)
        for _, branch in node.branches:
            out |= _types(branch)
        if node.merge is not None:
            out.add(node.merge.type)
    return out


def test_every_type_has_a_small_spec_in_the_shared_fixtures() -> None:
    seen = set().union(*(_types(archcalc.load(spec_text(name)).nodes) for name in SPECS))
    lacking = [t for t in TYPES if t not in seen]
    assert not lacking, missing("a small spec", lacking, "tests/layer_specs.py, SPECS")
