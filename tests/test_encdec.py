"""Several network inputs (``inputs:``), cross-attention (``multihead_attention`` with ``kv_from``), T5's relative
position bias and ``bias_add``. Expected numbers come from torch modules written here (nn.MultiheadAttention with
kdim/vdim, a module holding a buffer), measured with FlopCounterMode, or from arithmetic written out."""
from __future__ import annotations

import json

import pytest

import archcalc
from archcalc.core.errors import ArchcalcError

CROSS = """
name: cross
variables: {S: 7, T: 5, cache: 0}
layout: sequence
inputs: {memory: [S, 16], tokens: [T, 12]}
batch: 2
layers:
  - multihead_attention: {name: xattn, from: tokens, num_heads: 4, kv_from: memory, cache: cache}
"""


def analyze(text: str, **overrides) -> archcalc.Report:
    return archcalc.analyze(archcalc.load(text, **overrides))


def test_inputs_are_named_tensors_and_the_report_lists_them() -> None:
    report = analyze("""
name: two
variables: {S: 7, T: 5}
layout: sequence
inputs: {src: [S], tgt: [T]}
layers:
  - embedding: {name: enc, num_embeddings: 10, embedding_dim: 4}
  - embedding: {name: dec, num_embeddings: 10, embedding_dim: 4, from: tgt}
  - concat: {inputs: [enc, dec], dim: 1}
""")
    assert report.input_shape == (1, 7)  # the first input
    assert report.inputs == {"src": (1, 7), "tgt": (1, 5)}
    assert report.output_shape == (1, 12, 4)  # [7 + 5 positions, 4]
    data = json.loads(json.dumps(report.to_dict()))
    assert data["inputs"] == {"src": [1, 7], "tgt": [1, 5]}
    from archcalc.analyses.memory import annotate
    memory = annotate(report, "fp32", "adam").extra["memory"]
    assert memory["inference"]["input_bytes"] == (7 + 5) * 4  # both inputs
    # the second input is live from the start until dec reads it: at enc's row, 7 + 5 input ids + enc's 28 outputs
    assert report.layers[0].live == 7 + 5 + 28


def test_one_input_keeps_its_report() -> None:
    report = analyze("name: one\ninput: [3, 8, 8]\nlayers: [relu]")
    assert "inputs" not in report.to_dict() and report.inputs == {"input": (1, 3, 8, 8)}


@pytest.mark.parametrize("header, message", [
    ("input: [4]\ninputs: {a: [4]}", "not both"),
    ("inputs: {}", "names no input"),
    ("inputs: {'a b': [4]}", "must be an identifier"),
    ("description: none", "missing required field 'input'"),
])
def test_inputs_header_errors_are_one_line(header: str, message: str) -> None:
    with pytest.raises(ArchcalcError) as e:
        archcalc.load(f"name: bad\n{header}\nlayers: [relu]")
    assert message in str(e.value) and "\n" not in str(e.value)


def test_set_input_on_several_inputs_names_the_variables() -> None:
    with pytest.raises(ArchcalcError, match="declares several inputs"):
        archcalc.load(CROSS, input=[3, 4])


def test_cross_attention_is_nn_multihead_attention_with_kdim() -> None:
    """Queries [T, 12] from one input, keys and values from [S, 16]: nn.MultiheadAttention(kdim=vdim=16)."""
    torch = pytest.importorskip("torch")
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode
    report = analyze(CROSS)
    mha = torch.nn.MultiheadAttention(12, 4, kdim=16, vdim=16, batch_first=True)
    q, kv = torch.zeros(2, 5, 12), torch.zeros(2, 7, 16)
    # not self-attention: torch's slow path, its core as counted bmm calls under the math backend
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        y, _ = mha(q, kv, kv, need_weights=False)
    assert report.totals.params == sum(p.numel() for p in mha.parameters())
    assert 2 * report.totals.macs == counter.get_total_flops()
    assert report.output_shape == tuple(y.shape)
    # its cache: the encoder's K and V, once: 2 x 4 heads x 3 x 7 positions, per sample
    assert report.totals.cache == 2 * (2 * 4 * 3 * 7)
    assert report.layers[0].rf.axes == ("global",)


def test_cross_attention_decode_step_projects_no_keys_or_values() -> None:
    h, dh, d, e, s, t = 4, 3, 12, 16, 7, 1
    step = analyze(CROSS, T=t, cache=9)
    queries_and_out = t * (d * h * dh + h * dh * d)  # Q and output projections of the one new token
    scores = 2 * h * t * s * dh  # QK^T and AV against the S cached keys
    assert step.totals.macs == 2 * (queries_and_out + scores)
    assert step.totals.params == 2 * d * h * dh + 2 * e * h * dh + (h * dh + 2 * h * dh + d)  # all weights held
    assert step.totals.cache == 2 * (2 * h * dh * s)  # the same encoder cache, not grown by the step


@pytest.mark.parametrize("option, message", [
    ("causal: true", "cross-attention (kv_from) with causal"),
    ("rotary: true", "with rotary"),
    ("relative_buckets: 32", "relative position bias"),
    ("kv_cache: false, cache: 3", "kv_cache: false"),
    ("call: module", "call: module"),
])
def test_cross_attention_refusals_name_the_option(option: str, message: str) -> None:
    with pytest.raises(ArchcalcError) as e:
        analyze(CROSS.replace("cache: cache}", f"cache: cache, {option}}}" if "cache:" not in option
                              else f"{option}}}"))
    assert message in str(e.value) and "xattn" in str(e.value)


def test_kv_from_an_unknown_tensor_is_refused() -> None:
    with pytest.raises(ArchcalcError, match="unknown name 'encoder'"):
        analyze(CROSS.replace("kv_from: memory", "kv_from: encoder"))


def test_relative_position_bias_is_a_table_and_an_add_per_score() -> None:
    """T5: buckets x heads parameters in the layer that owns the table, one add per (query, key) pair and head in
    every layer, and no 1/sqrt(dh) scaling."""
    text = """
name: rel
variables: {T: 6}
layout: sequence
input: [T, 16]
layers:
  - multihead_attention: {name: plain, num_heads: 4, bias: false}
  - multihead_attention: {name: first, num_heads: 4, bias: false, relative_buckets: 32, scaling: false}
  - multihead_attention: {name: later, num_heads: 4, bias: false, relative_buckets: 32, relative_table: false,
                          scaling: false, causal: true}
"""
    rows = {r.name: r for r in analyze(text).layers}
    plain, first, later = rows["plain"], rows["first"], rows["later"]
    assert first.params == plain.params + 32 * 4 and later.params == plain.params
    pairs, causal_pairs = 6 * 6, 6 * 7 // 2
    # the scaling's multiply per score is gone and the bias's add takes its place: same elementwise count
    assert first.flops_by_kind["elementwise"] == plain.flops_by_kind["elementwise"] == 4 * pairs
    assert later.flops_by_kind["elementwise"] == 4 * causal_pairs
    assert first.macs == plain.macs


def test_relative_position_bias_table_is_t5_attentions() -> None:
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from transformers.models.t5.modeling_t5 import T5Attention
    config = transformers.T5Config(d_model=16, d_kv=4, num_heads=4, relative_attention_num_buckets=32)
    module = T5Attention(config, has_relative_attention_bias=True)
    report = analyze("name: t\nlayout: sequence\ninput: [6, 16]\nlayers:\n  - multihead_attention: {num_heads: 4, "
                     "bias: false, relative_buckets: 32, scaling: false}")
    assert report.totals.params == sum(p.numel() for p in module.parameters())


def test_bias_add_is_a_parameter_or_a_buffer() -> None:
    torch = pytest.importorskip("torch")

    class Biased(torch.nn.Module):  # BART's final_logits_bias: a buffer; and a learned bias
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("final_logits_bias", torch.zeros(1, 10))
            self.bias = torch.nn.Parameter(torch.zeros(10))

        def forward(self, x):
            return x + self.final_logits_bias + self.bias

    module = Biased()
    report = analyze("name: b\ninput: [5, 10]\nbatch: 3\nlayers: [{bias_add: {buffer: true}}, bias_add]")
    assert report.totals.params == sum(p.numel() for p in module.parameters())
    assert report.totals.buffers == sum(b.numel() for b in module.buffers())
    assert report.output_shape == tuple(module(torch.zeros(3, 5, 10)).shape)
    assert report.totals.flops == 2 * 3 * 5 * 10  # one add per element, each


def test_every_text_format_names_each_input() -> None:
    from archcalc.outputs.html import render_html
    from archcalc.outputs.render import markdown, table
    report = analyze(CROSS)
    assert table(report).splitlines()[0] == "cross  inputs memory [2, 7, 16], tokens [2, 5, 12]"
    assert "Inputs memory `[2, 7, 16]`, tokens `[2, 5, 12]`" in markdown(report)
    assert "inputs memory <code>[2, 7, 16]</code>, tokens <code>[2, 5, 12]</code>" in render_html(report, CROSS)


def test_export_takes_every_input_in_order() -> None:
    torch = pytest.importorskip("torch")
    from archcalc.export import export
    source = export(archcalc.load(CROSS))
    namespace: dict = {"__name__": "encdec_export_test"}
    exec(compile(source, "<export>", "exec"), namespace)
    assert "def forward(self, memory: torch.Tensor, tokens: torch.Tensor)" in source
    model = namespace["Cross"]().eval()
    memory, tokens = namespace["example_input"]()
    assert tuple(memory.shape) == (2, 7, 16) and tuple(tokens.shape) == (2, 5, 12)
    with torch.no_grad():
        assert tuple(model(memory, tokens).shape) == (2, 5, 12)
