"""The README tells the truth: the zoo table matches archcalc and torchvision's published figures, and the
quick start has exactly the two set-up commands that CI runs.

torchvision's published figures: for the models in tests/data/torchvision_reference.json, its torchvision_meta; for
the others, the metadata (num_params, _ops) of the builder's *_Weights enum in the installed torchvision 0.28.0 (read
through tests/torchvision_oracle.py: metadata only, nothing is downloaded).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from torchvision_oracle import models

import archcalc

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
REFERENCE = json.loads((Path(__file__).parent / "data" / "torchvision_reference.json").read_text())["models"]


def zoo_rows() -> list[list[str]]:
    block = README.split("<!-- zoo-table -->", 1)[1].strip().split("\n\n", 1)[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in block.splitlines()]
    return rows[2:]  # header and rule


def number(cell: str) -> int:
    return int(cell.replace(",", "").strip("`*"))


def test_zoo_table_matches_archcalc_and_torchvision() -> None:
    rows = zoo_rows()
    assert rows, "the README has no zoo table"
    listed = set()
    for spec, _, params, tv_params, macs, tv_ops in rows:
        name = spec.strip("`").removeprefix("specs/").removesuffix(".yaml")
        listed.add(name)
        report = archcalc.analyze(archcalc.load(ROOT / "specs" / f"{name}.yaml"))
        assert number(params) == report.totals.params, name
        assert number(macs) == report.totals.macs, name
        if name in REFERENCE:
            meta = REFERENCE[name]["torchvision_meta"]
            assert tv_params.startswith(f"{meta['num_params']:,}"), name
            assert tv_ops == f"{meta['_ops']} G", name
            # FlopCounterMode / 2 (torchvision 0.29.1), which does not see eval-mode nn.MultiheadAttention (torch's
            # fused fast path): the reference is archcalc's MACs without the attention layers
            attention = sum(r.macs for r in report.layers if r.type == "multihead_attention")
            assert report.totals.macs - attention == REFERENCE[name]["macs"]
        elif tv_params != "-":  # torchvision's weights metadata: test_zoo_table_metadata_is_torchvisions
            assert round(report.totals.macs / 10**9, 3) == float(tv_ops.removesuffix(" G")), name
        else:
            assert tv_params == tv_ops == "-", name
    with_reference = {p.stem for p in (ROOT / "specs").glob("*.yaml") if p.stem in REFERENCE}
    assert with_reference <= listed, f"missing from the README table: {sorted(with_reference - listed)}"


def test_quick_start_has_two_commands_and_ci_runs_the_test_one() -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)\n```", quick, re.S)
    assert len(commands) == 2 and all("\n" not in c for c in commands)
    install_run, test = commands
    assert "archcalc specs/vgg16.yaml" in install_run
    assert "[test]" in test and "pytest" in test
    assert test in (ROOT / ".ci" / "run").read_text()


def test_llm_sizing_table_matches_archcalc() -> None:
    """The README's LLM table: each cell is the figure archcalc prints for the command the section shows."""
    from archcalc.analyses.memory import annotate
    block = README.split("<!-- llm-table -->", 1)[1].strip().split("\n\n", 1)[0]
    rows = {r[0]: r[1:] for r in ([c.strip() for c in line.strip("|").split("|")] for line in block.splitlines()[2:])}
    for column, (name, context) in enumerate([("gpt2", 1024), ("llama2_7b", 4096)]):
        prefill = archcalc.analyze(archcalc.load(ROOT / "specs" / f"{name}.yaml"))
        decode = archcalc.analyze(archcalc.load(ROOT / "specs" / f"{name}.yaml", T=1, cache=context - 1))
        annotate(prefill, "bf16", "adam")
        memory = prefill.extra["memory"]
        expected = {"params": prefill.totals.params, "prefill FLOPs": prefill.totals.flops,
                    "decode-step FLOPs": decode.totals.flops, "KV cache": memory["inference"]["kv_cache_bytes"],
                    "training memory": memory["training"]["total_bytes"]}
        for label, cells in rows.items():
            key = next(k for k in expected if label.startswith(k))
            assert number(cells[column].removesuffix(" B")) == expected[key], (name, label)


def test_compare_tables_are_archcalc_output(capsys) -> None:
    """The "Why do FLOP counters disagree?" tables are what archcalc compare prints."""
    from archcalc.cli import main
    for spec in ("resnet50", "vit_b_16"):
        block = README.split(f"<!-- compare-{spec} -->", 1)[1].strip().split("\n\n", 1)[0]
        assert main(["compare", str(ROOT / "specs" / f"{spec}.yaml"), "-f", "markdown"]) == 0
        assert capsys.readouterr().out.split("\n\n", 1)[0].strip() == block, spec


def test_zoo_table_metadata_is_torchvisions() -> None:
    """Rows without a reference entry: the torchvision columns are the weights' published num_params and _ops
    (every weights entry of the builder agrees on them), and every spec named like a torchvision builder has them."""
    tv = models()
    if tv is None:
        pytest.skip("torchvision's model code is not importable (pip install --no-deps torchvision==0.28.0)")
    builders = set(tv.list_models(module=tv))
    checked = set()
    for spec, _, _, tv_params, _, tv_ops in zoo_rows():
        name = spec.strip("`").removeprefix("specs/").removesuffix(".yaml")
        if name in REFERENCE:
            continue
        if name not in builders:
            assert tv_params == tv_ops == "-", name
            continue
        published = {(w.meta["num_params"], w.meta["_ops"]) for w in tv.get_model_weights(name)}
        assert len(published) == 1, (name, published)
        (num_params, ops), = published
        assert (tv_params, tv_ops) == (f"{num_params:,}", f"{ops} G"), name
        checked.add(name)
    assert {"vgg13_bn", "resnext101_32x8d", "wide_resnet101_2", "densenet169", "densenet201", "shufflenet_v2_x0_5",
            "mnasnet0_5", "regnet_y_400mf", "efficientnet_b1"} <= checked
