"""Generated graphs: dotted names (mirroring torch's module paths), ``if:`` on a parallel branch, a branch made once
per index (``repeat`` with ``as``), a named repeat index, and ``${expr}`` in names and references. Expected values
are arithmetic written out in the comments, and a torch module written here for the HRNet-style fuse."""
from __future__ import annotations

import pytest

import archcalc

HEAD = "name: t\ninput: [4, 8, 8]\n"


def run(text: str, **overrides):
    return archcalc.analyze(archcalc.load(text, **overrides))


def err(text: str) -> str:
    with pytest.raises(archcalc.ArchcalcError) as info:
        run(text)
    text = info.value.format()
    assert "\n" not in text
    return text


def test_dotted_names_make_torch_paths_and_are_referenced() -> None:
    r = run(HEAD + """layers:
  - sequential:
      name: fpn
      layers:
        - conv2d: {name: inner_blocks.3.0, out_channels: 4, kernel_size: 1}
        - conv2d: {name: layer_blocks.3.0, out_channels: 4, kernel_size: 3, padding: 1}
        - identity: {from: inner_blocks.3.0}
  - identity: {from: fpn.layer_blocks.3.0}
""")
    assert [row.name for row in r.layers] == ["fpn.inner_blocks.3.0", "fpn.layer_blocks.3.0", "fpn.identity_1",
                                              "identity_1"]
    assert r.layers[3].rf.axes[0].size == 3  # the 3x3 conv's output: 1 + 2


@pytest.mark.parametrize("name", ["a..b", ".a", "a."])
def test_a_dotted_name_needs_parts(name: str) -> None:
    assert "its parts, if dotted, not empty" in err(HEAD + f"layers:\n  - conv2d: {{name: '{name}', out_channels: 4, "
                                                           "kernel_size: 1}\n")


def test_two_layers_at_one_path_are_refused() -> None:
    text = err(HEAD + """layers:
  - sequential: {name: a, layers: [{conv2d: {name: b, out_channels: 4, kernel_size: 1}}]}
  - conv2d: {name: a.b, out_channels: 4, kernel_size: 1}
""")
    assert "two layers have the path 'a.b'" in text


REPVGG = HEAD + """variables: {stride: 1, out: 4}
layers:
  - parallel:
      name: block
      branches:
        - [{conv2d: {out_channels: out, kernel_size: 3, stride: stride, padding: 1, bias: false}}]
        - [{conv2d: {out_channels: out, kernel_size: 1, stride: stride, bias: false}}]
        - {if: "stride == 1 and out == 4", layers: [batchnorm2d]}
      merge: add
"""


def test_if_on_a_branch_keeps_it_only_when_true() -> None:
    kept = run(REPVGG)
    # 3x3: 4*4*9 = 144; 1x1: 16; the identity's batch norm: 2*4 params, 2*4 + 1 buffers; an add of 3 inputs
    assert kept.totals.params == 144 + 16 + 8 and kept.totals.buffers == 9
    assert kept.layers[-1].flops == 2 * 4 * 8 * 8  # inputs - 1 = 2 adds per element
    assert [row.name for row in kept.layers] == ["block.0.conv2d_1", "block.1.conv2d_1", "block.2.batchnorm2d_1",
                                                 "block.add"]
    skipped = run(REPVGG, stride=2, out=8)  # RepVGG: no identity branch when the shape changes
    assert skipped.totals.params == 4 * 8 * 9 + 4 * 8 and skipped.totals.buffers == 0
    assert skipped.output_shape == (1, 8, 4, 4) and skipped.layers[-1].flops == 8 * 4 * 4


def test_a_parallel_left_with_one_branch_is_that_branch() -> None:
    r = run(HEAD + """layers:
  - parallel:
      branches:
        - [{conv2d: {out_channels: 4, kernel_size: 1}}]
        - {if: false, layers: [identity]}
      merge: add
""")
    assert r.layers[-1].type == "add" and r.layers[-1].flops == 0  # one input: no add


def test_every_branch_skipped_is_an_error() -> None:
    assert "every branch of the parallel is skipped" in err(HEAD + """layers:
  - parallel: {branches: [{if: false, layers: [relu]}, {if: false, layers: [relu]}]}
""")


def test_unknown_branch_key_is_named() -> None:
    assert "unknown field 'iff'" in err(HEAD + """layers:
  - parallel: {branches: [[relu], {iff: false, layers: [relu]}]}
""")


def test_a_branch_per_index_with_names_and_references_made_from_it() -> None:
    # three saved tensors of different widths; one branch per j reads t.${j} and projects it to 4 channels
    r = run(HEAD + """variables: {nb: 3}
layers:
  - conv2d: {name: t, out_channels: "4 * (k + 1)", kernel_size: 1, repeat: nb, as: k, from: input}
  - parallel:
      name: fuse
      branches:
        - {repeat: nb, as: j, layers: [{conv2d: {name: "proj${j}", from: "t.${j}", out_channels: 4, kernel_size: 1}}]}
      merge: add
""")
    rows = {row.name: row for row in r.layers}
    # t.k: 4k (t.0: 4) -> 4(k+1) channels, each copy reading the one before: 4*4 + 4, 4*8 + 8, 8*12 + 12;
    # proj j: 4(j+1)*4 + 4 params
    assert [rows[f"t.{k}"].params for k in range(3)] == [20, 40, 108]
    assert [rows[f"fuse.{j}.proj{j}"].params for j in range(3)] == [20, 36, 52]
    assert rows["fuse.add"].flops == 2 * 4 * 8 * 8


def test_named_indices_nest() -> None:
    r = run(HEAD + """layers:
  - sequential:
      name: outer
      repeat: 2
      layers:
        - conv2d: {name: "c${i}", out_channels: 4, kernel_size: "1 + 2 * j", padding: j, repeat: 2, as: j}
""")
    # outer.i.c{i}.j: a (1 + 2j)^2 kernel, 4 -> 4: 16 (1+2j)^2 + 4 params
    assert [(row.name, row.params) for row in r.layers] == [
        ("outer.0.c0.0", 20), ("outer.0.c0.1", 148), ("outer.1.c1.0", 20), ("outer.1.c1.1", 148)]


@pytest.mark.parametrize("item, message", [
    ("{relu: {name: 'a${1/2}'}}", "must be an integer"),
    ("{relu: {name: 'a${1'}}", "unclosed ${"),
    ("{relu: {as: j}}", "as: names the index of a repeat"),
    ("{relu: {as: 2j, repeat: 2}}", "must be a name such as j"),
])
def test_loop_errors(item: str, message: str) -> None:
    assert message in err(HEAD + f"layers:\n  - {item}\n")


def test_hrnet_style_fuse_against_torch() -> None:
    """Two resolutions fused both ways as timm's HighResolutionModule does: up = 1x1 conv, BN, nearest x2; down =
    3x3 stride-2 conv, BN; identity on the diagonal; sum, ReLU. Checked against the same module in torch."""
    torch = pytest.importorskip("torch")
    from torch import nn
    spec = """name: fuse
input: [4, 8, 8]
variables: {nb: 2}
layers:
  - conv2d: {name: "branches.0", out_channels: 4, kernel_size: 1, bias: false}
  - conv2d: {name: "branches.1", out_channels: 8, kernel_size: 3, stride: 2, padding: 1, bias: false}
  - parallel:
      name: fuse_layers
      repeat: nb
      branches:
        - repeat: nb
          as: j
          layers:
            - identity: {if: "j == i", from: "branches.${j}"}
            - sequential:
                name: "up"
                if: "j > i"
                from: "branches.${j}"
                layers:
                  - conv2d: {out_channels: "4 * 2 ** i", kernel_size: 1, bias: false}
                  - batchnorm2d
                  - upsample: {scale_factor: "2 ** (j - i)", mode: nearest}
            - sequential:
                name: "down"
                if: "j < i"
                from: "branches.${j}"
                layers:
                  - conv2d: {out_channels: "4 * 2 ** i", kernel_size: 3, stride: 2, padding: 1, bias: false}
                  - batchnorm2d
      merge: add
  - relu: {from: fuse_layers.0}
"""
    r = run(spec)

    class Fuse(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.b0 = nn.Conv2d(4, 4, 1, bias=False)
            self.b1 = nn.Conv2d(4, 8, 3, 2, 1, bias=False)
            self.up = nn.Sequential(nn.Conv2d(8, 4, 1, bias=False), nn.BatchNorm2d(4), nn.Upsample(scale_factor=2))
            self.down = nn.Sequential(nn.Conv2d(4, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8))

        def forward(self, x):
            x0, x1 = self.b0(x), self.b1(x)
            return torch.relu(x0 + self.up(x1)), x1 + self.down(x0)

    model = Fuse().eval()
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for b in model.buffers())
    assert (r.totals.params, r.totals.buffers) == (params, buffers)
    from torch.utils.flop_counter import FlopCounterMode
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y0, y1 = model(torch.zeros(1, 4, 8, 8))
    assert r.totals.macs == counter.get_total_flops() // 2
    rows = {row.name: row for row in r.layers}
    assert rows["fuse_layers.1.add"].output_shape == (1, *y1.shape[1:])
    assert r.output_shape == tuple(y0.shape)


def test_a_repeat_whose_from_and_save_name_its_index_reads_and_saves_per_copy() -> None:
    # x0, x1 of 2 and 6 channels; one relu per index reads x_b (not the previous copy) and saves y_b
    r = run(HEAD + """layers:
  - conv2d: {name: a, out_channels: 2, kernel_size: 1, save: x0}
  - conv2d: {name: b, out_channels: 6, kernel_size: 1, from: input, save: x1}
  - relu: {name: act, repeat: 2, as: k, from: "x${k}", save: "y${k}"}
  - concat: {inputs: [y0, y1]}
""")
    assert [row.output_shape[1] for row in r.layers] == [2, 6, 2, 6, 8]


def test_per_copy_references_need_a_numeric_count() -> None:
    assert "cannot name tensors by its index" in err(HEAD + """symbols: [n]
layers:
  - relu: {repeat: n, from: "x${i}"}
""")


def test_named_branches_take_if_and_repeat_too() -> None:
    r = run(HEAD + """layers:
  - parallel:
      name: mix
      branches:
        conv: {repeat: 2, as: k, layers: [{conv2d: {out_channels: 2, kernel_size: "2 * k + 1", padding: k}}]}
        identity: {if: false, layers: [identity]}
        pool: [{maxpool2d: {kernel_size: 3, stride: 1, padding: 1}}]
      merge: concat
""")
    # two convs of 2 channels (kernels 1 and 3) and the 4-channel pool, concatenated: 2 + 2 + 4 channels
    assert [row.name for row in r.layers] == ["mix.conv.0.conv2d_1", "mix.conv.1.conv2d_1", "mix.pool.maxpool2d_1",
                                              "mix.concat"]
    assert r.output_shape == (1, 8, 8, 8)


def test_a_residual_names_its_shortcut() -> None:
    r = run(HEAD + """layers:
  - residual:
      body: [{conv2d: {name: conv1, out_channels: 8, kernel_size: 1}}]
      shortcut_name: downsample
      shortcut: [{conv2d: {name: "0", out_channels: 8, kernel_size: 1}}]
""")
    assert [row.name for row in r.layers] == ["conv1", "downsample.0", "add"]


@pytest.mark.parametrize("kernels", [1, 3])
def test_mixnet_mixed_conv_as_a_branch_loop_against_timm(kernels: int) -> None:
    """timm's MixedConv2d (MixNet): the channels split into one group per kernel size 3, 5, 7, ... (the first group
    takes the remainder), a depthwise conv per group, concatenated. One branch per kernel, made by repeat."""
    pytest.importorskip("timm")
    from timm.layers import MixedConv2d
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode
    spec = f"""name: mixconv
input: [26, 16, 16]
variables: {{n: {kernels}}}
layers:
  - parallel:
      name: mix
      branches:
        - repeat: n
          as: j
          layers:
            - split: {{split_size_or_sections: "26 // n", index: j}}
            - conv2d: {{name: "${{j}}", out_channels: "26 // n + (26 % n if j == 0 else 0)", groups:
                        "26 // n + (26 % n if j == 0 else 0)", kernel_size: "3 + 2 * j", padding: "1 + j",
                        bias: false}}
      merge: concat
"""
    model = MixedConv2d(26, 26, kernel_size=[3 + 2 * j for j in range(kernels)], depthwise=True).eval()
    if kernels == 3:
        spec = spec.replace('split_size_or_sections: "26 // n"', "split_size_or_sections: [10, 8, 8]")
    r = run(spec)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = model(torch.zeros(1, 26, 16, 16))
    assert r.totals.params == sum(p.numel() for p in model.parameters())
    assert r.totals.macs == counter.get_total_flops() // 2
    assert r.output_shape == tuple(y.shape)
    assert {row.name.rpartition(".")[2] for row in r.layers if row.type == "conv2d"} == {
        name for name, _ in model.named_children()}
