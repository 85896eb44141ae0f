"""The five counters the presets describe, run as their users run them, for tests/test_peers.py (on archcalc's
exports) and tests/test_peers_torchvision.py (on torchvision's and Hugging Face's own model classes):

    torch      FlopCounterMode(display=False).get_total_flops(), eval, under torch.no_grad()  vs .totals.flops
    fvcore     FlopCountAnalysis(model, (x,)).total()                                         vs .totals.macs
    ptflops    get_model_complexity_info(model, input_res, as_strings=False,
               print_per_layer_stat=False)[0], pytorch backend                                 vs .totals.macs
    thop       thop.profile(model, inputs=(x,))[0]                                            vs .totals.macs
    torchinfo  summary(model, input_data=x, verbose=0).total_mult_adds                        vs .totals.macs

ptflops gets the input through input_constructor, its input_res being the per-sample shape (it adds the batch
itself); it returns int() of a float total, so a preset total is compared floored (only a batch > 1 makes it
fractional). Each tool gets its own copy of the pristine module (thop and ptflops attach buffers, hooks and
attributes). Where a tool cannot run a model at all (it raises, or ptflops reports that its run failed), that one
pair is skipped with the tool's error as the reason; a number that differs is always a failure.

SIZES. The tools really compute on the CPU (fvcore traces, ptflops and thop run forward hooks), so the zoo runs at
reduced sizes where a spec has variables for it. A reduced size changes only the shapes each layer sees, never which
layers there are, which torch module or function computes each or which rule of a tool counts it; each rule is an
expression in those shapes, so it is checked all the same. The sizes keep each network's structure: every adaptive
pool maps its input as at full size (VGG and AlexNet stay at 224 x 224, where theirs is an identity), inception_v3
stays above its 75-pixel minimum, U-Net runs on its smallest valid tile, and the transformers keep their head
counts, so that per-head splits and torch's even-heads fast-path condition are those of the full models (narrower
heads, fewer layers, shorter sequences, smaller vocabularies). ResNet-50 runs at full size, where
tests/test_conventions.py checks the presets against each tool's published figure for torchvision's ResNet-50.
"""
from __future__ import annotations

import contextlib
import copy
import io
import logging
import math
import warnings
from typing import Any

import pytest

import archcalc
from archcalc.count.preset import load

TOOLS = ("torch", "fvcore", "ptflops", "thop", "torchinfo")
PACKAGE = {"fvcore": "fvcore", "ptflops": "ptflops", "thop": "thop", "torchinfo": "torchinfo"}

IMAGE = {"H": 64, "W": 64}
SIZES: dict[str, dict] = {
    "alexnet": {},  # 224: its adaptive pool is 6 x 6 -> 6 x 6 only there
    "bert_base": {"T": 32, "vocab": 500, "max_positions": 64, "width": 96, "depth": 2},
    "convnet1d": {},
    "convnext_tiny": IMAGE,
    "densenet121": IMAGE,
    "densenet161": IMAGE,
    "densenet169": IMAGE,
    "densenet201": IMAGE,
    "efficientnet_b0": IMAGE,
    "efficientnet_b1": IMAGE,
    "googlenet": IMAGE,
    "gpt2": {"T": 32, "vocab": 500, "n_ctx": 64, "width": 96, "depth": 2},
    "gpt_kaplan": {"n_layer": 2, "d_model": 96, "d_attn": 96, "d_ff": 384, "n_ctx": 32, "n_vocab": 500},
    "hrnet_w18_small": IMAGE,
    "inception_v3": {"H": 107, "W": 107},
    "lenet5": {},
    "levit_128": {"H": 128, "W": 96},  # token grids 8 x 6, 4 x 3, 2 x 2: every stage, odd sides too
    "llama2_7b": {"T": 16, "vocab": 500, "width": 128, "depth": 2, "ffn": 344},
    "lstm_lm": {"vocab": 1000, "hidden": 128},
    "mamba_130m": {"T": 8, "vocab": 500, "width": 64, "depth": 2},
    "mnasnet0_5": IMAGE,
    "mnasnet1_0": IMAGE,
    "mobilenet_v2": IMAGE,
    "mobilenet_v3_large": IMAGE,
    "mobilenet_v3_small": IMAGE,
    "mobilevit_s": {"H": 128, "W": 128},  # the last MobileViT block on a 4 x 4 map: 2 x 2 patches of 2 x 2
    "regnet_x_400mf": IMAGE,
    "regnet_y_400mf": IMAGE,
    "resnet101": IMAGE,
    "resnet152": IMAGE,
    "resnet18": IMAGE,
    "resnet34": IMAGE,
    "resnet50": {},  # full size: the figures tests/test_conventions.py checks against torchvision's
    "resnet50_fpn": IMAGE,
    "resnext50_32x4d": IMAGE,
    "resnext101_32x8d": IMAGE,
    "shufflenet_v2_x0_5": IMAGE,
    "shufflenet_v2_x1_0": IMAGE,
    "squeezenet1_0": IMAGE,
    "squeezenet1_1": IMAGE,
    "swin_t": {"H": 128, "W": 128},  # maps 32, 16, 8, 4: padded to whole windows; shifts in three stages, as at 224
    "tcn": {},
    "unet": {"H": 188, "W": 188},  # the smallest valid tile
    "vgg11": {},
    "vgg11_bn": {},
    "vgg13": {},
    "vgg13_bn": {},
    "vgg16": {},
    "vgg16_bn": {},
    "vgg19": {},
    "vgg19_bn": {},
    "vit_b_16": {"image": 64, "depth": 2},
    "vit_b_32": {"image": 96, "depth": 2},
    "wide_resnet50_2": IMAGE,
    "wide_resnet101_2": IMAGE,
    "wav2vec2_feature_encoder": {"T": 3200, "channels": 32},
    "wavenet": {"T": 64, "quantization": 8, "residual": 4, "dilation_channels": 4, "skip": 8},
    "convnextv2_atto": IMAGE,
    "nfnet_l0": IMAGE,
    "poolformer_s12": IMAGE,
    "deeplabv3_resnet50": IMAGE,
    "t5_small": {"S": 8, "T": 8},  # encoder-decoders: two inputs, shorter sequences
    "bart_base": {"S": 8, "T": 8},
    "whisper_tiny": {"T": 8, "frames": 64},
    "llama3_8b": {"T": 16, "vocab": 500, "width": 128, "depth": 2, "heads": 4, "kv_heads": 2, "ffn": 344},
    "mistral_7b": {"T": 16, "vocab": 500, "width": 128, "depth": 2, "heads": 4, "kv_heads": 2, "ffn": 344,
                   "window": 5},
    "mixtral_8x7b": {"T": 16, "vocab": 500, "width": 128, "depth": 2, "heads": 4, "kv_heads": 2, "ffn": 96},
    "qwen2_7b": {"T": 16, "vocab": 500, "width": 128, "depth": 2, "heads": 4, "kv_heads": 2, "ffn": 344},
    "falcon_7b": {"T": 16, "vocab": 500, "width": 128, "depth": 2, "heads": 4, "head_dim": 32},
    "phi_2": {"T": 16, "vocab": 500, "width": 160, "depth": 2, "heads": 4, "ffn": 256, "rotary_dim": 16},
    "pythia_160m": {"T": 16, "vocab": 500, "width": 128, "depth": 2, "heads": 4, "ffn": 256, "rotary_dim": 8},
    "gemma_7b": {"T": 16, "vocab": 500, "width": 128, "depth": 2, "heads": 4, "head_dim": 64, "ffn": 256},
}


@contextlib.contextmanager
def quiet():
    """The tools print progress and warnings; their numbers are what is checked."""
    sink = io.StringIO()
    level = logging.getLogger("fvcore").level
    logging.getLogger("fvcore").setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            warnings.simplefilter("ignore")
            yield sink
    finally:
        logging.getLogger("fvcore").setLevel(level)


def inputs(x) -> tuple:
    """The positional inputs: x itself, or the tuple an export with several inputs (inputs:) makes."""
    return x if isinstance(x, tuple) else (x,)


def run_torch(model, x):
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(*inputs(x))
    return counter.get_total_flops()


def run_fvcore(model, x):
    from fvcore.nn import FlopCountAnalysis
    analysis = FlopCountAnalysis(model, inputs(x))
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return analysis.total()


def run_ptflops(model, x):
    from ptflops import get_model_complexity_info
    with quiet() as out:
        if isinstance(x, tuple):  # several inputs: ptflops calls model(**kwargs)
            import inspect
            names = list(inspect.signature(model.forward).parameters)
            shape, make = tuple(x[0].shape[1:]), (lambda _: dict(zip(names, x)))
        else:
            shape, make = tuple(x.shape[1:]), (lambda _: x)
        macs, _ = get_model_complexity_info(model, shape, input_constructor=make,
                                            as_strings=False, print_per_layer_stat=False, backend="pytorch")
    if macs is None:  # ptflops catches the model's exception, prints it and returns None
        raise RuntimeError(out.getvalue().strip().splitlines()[-1])
    return macs


def run_thop(model, x):
    import thop
    return thop.profile(model, inputs=inputs(x), verbose=False)[0]


def run_torchinfo(model, x):
    import torchinfo
    return torchinfo.summary(model, input_data=list(inputs(x)), verbose=0).total_mult_adds


RUN = {"torch": run_torch, "fvcore": run_fvcore, "ptflops": run_ptflops, "thop": run_thop,
       "torchinfo": run_torchinfo}


def preset_total(net, tool: str):
    """archcalc's total under the tool's preset: FLOPs for FlopCounterMode, MACs (as each tool counts) otherwise."""
    totals = archcalc.analyze(net, convention=load(tool)).totals
    return totals.flops if tool == "torch" else totals.macs


def measure(tool: str, model, x, what: str) -> Any:
    """The tool's total on a copy of ``model`` (eval mode) for input ``x``; the pair is skipped when the tool cannot
    run the model at all (its package missing, or it raises)."""
    if tool in PACKAGE:
        pytest.importorskip(PACKAGE[tool])
    try:
        with quiet():
            return RUN[tool](copy.deepcopy(model), x)
    except Exception as e:  # noqa: BLE001  the tool cannot run this model: record it, skip only this pair
        pytest.skip(f"{tool} cannot run {what}: {type(e).__name__}: {str(e).strip().splitlines()[0][:200]}")


def check(tool: str, got: Any, want: Any, what: str) -> None:
    """The tool's total equals the preset's to the unit (ptflops' int() of a float total: the preset's floored)."""
    if tool == "ptflops":  # module counts divided by the batch can be fractional (nn.Upsample's: one sample's
        want = math.floor(want)  # output / the batch), and ptflops truncates its float sum once
    assert got == want, f"{what}: {tool} reports {got}, archcalc's {tool} preset {want} (difference {got - want})"
