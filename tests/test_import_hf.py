"""archcalc import hf on decoder-only configs against Hugging Face transformers (5.24.0).

Each config is the published config.json's hyperparameters written out here (never downloaded), saved as JSON,
imported and analysed. The oracle is the same dict given to transformers (AutoConfig.for_model, eager attention)
and its causal-LM class built on the meta device: params (a tied weight once), buffers, the K/V cache a forward
pass with use_cache=True returns, the logits' shape, and MACs = FlopCounterMode / 2 at T = 8, less the masked
(query, key) pairs eager attention computes that a causal kernel does not (layers x heads x 2 x head_dim each,
counted by brute force). Mixtral's routing needs real values: its MACs are measured at reduced sizes on CPU.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import archcalc
from archcalc.core.errors import SpecError
from archcalc.importers.hf import import_file

T = 8

LLAMA3_8B = {"model_type": "llama", "vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336,
             "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-5,
             "rope_theta": 500000.0, "max_position_embeddings": 8192, "tie_word_embeddings": False,
             "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                              "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}
MIXTRAL = {"model_type": "mixtral", "vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 14336,
           "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8, "num_local_experts": 8,
           "num_experts_per_tok": 2, "rms_norm_eps": 1e-5, "rope_theta": 1e6, "sliding_window": None,
           "max_position_embeddings": 32768, "tie_word_embeddings": False}

CONFIGS = {
    # Meta-Llama-3-8B (rope_scaling as Llama 3.1's: it changes the frequencies only)
    "llama3_8b": LLAMA3_8B,
    # Llama-2-7b-hf
    "llama2_7b": {"model_type": "llama", "vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 11008,
                  "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32,
                  "rms_norm_eps": 1e-5, "max_position_embeddings": 4096, "tie_word_embeddings": False},
    # TinyLlama-1.1B
    "tinyllama_1b": {"model_type": "llama", "vocab_size": 32000, "hidden_size": 2048, "intermediate_size": 5632,
                     "num_hidden_layers": 22, "num_attention_heads": 32, "num_key_value_heads": 4,
                     "rms_norm_eps": 1e-5, "max_position_embeddings": 2048, "tie_word_embeddings": False},
    # Mistral-7B-v0.1
    "mistral_7b": {"model_type": "mistral", "vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 14336,
                   "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
                   "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "sliding_window": 4096,
                   "max_position_embeddings": 32768, "tie_word_embeddings": False},
    # Qwen2-7B and Qwen2-0.5B (tied)
    "qwen2_7b": {"model_type": "qwen2", "vocab_size": 152064, "hidden_size": 3584, "intermediate_size": 18944,
                 "num_hidden_layers": 28, "num_attention_heads": 28, "num_key_value_heads": 4, "rms_norm_eps": 1e-6,
                 "rope_theta": 1e6, "max_position_embeddings": 131072, "use_sliding_window": False,
                 "sliding_window": 131072, "tie_word_embeddings": False},
    "qwen2_0_5b": {"model_type": "qwen2", "vocab_size": 151936, "hidden_size": 896, "intermediate_size": 4864,
                   "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2,
                   "rms_norm_eps": 1e-6, "rope_theta": 1e6, "max_position_embeddings": 32768,
                   "use_sliding_window": False, "tie_word_embeddings": True},
    # gemma-7b and gemma-2b (multi-query)
    "gemma_7b": {"model_type": "gemma", "vocab_size": 256000, "hidden_size": 3072, "intermediate_size": 24576,
                 "num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 16, "head_dim": 256,
                 "hidden_activation": "gelu_pytorch_tanh", "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
                 "max_position_embeddings": 8192},
    "gemma_2b": {"model_type": "gemma", "vocab_size": 256000, "hidden_size": 2048, "intermediate_size": 16384,
                 "num_hidden_layers": 18, "num_attention_heads": 8, "num_key_value_heads": 1, "head_dim": 256,
                 "hidden_act": "gelu", "hidden_activation": None, "rms_norm_eps": 1e-6,
                 "max_position_embeddings": 8192},
    # gemma-2-9b (sliding windows of 4096 on even layers; at T = 8 every window holds the whole prompt)
    "gemma2_9b": {"model_type": "gemma2", "vocab_size": 256000, "hidden_size": 3584, "intermediate_size": 14336,
                  "num_hidden_layers": 42, "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 256,
                  "hidden_activation": "gelu_pytorch_tanh", "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
                  "query_pre_attn_scalar": 256, "sliding_window": 4096, "final_logit_softcapping": 30.0,
                  "attn_logit_softcapping": 50.0, "max_position_embeddings": 8192},
    # Phi-3-mini-4k-instruct
    "phi3_mini": {"model_type": "phi3", "vocab_size": 32064, "hidden_size": 3072, "intermediate_size": 8192,
                  "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32,
                  "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "max_position_embeddings": 4096,
                  "original_max_position_embeddings": 4096, "sliding_window": 2047, "tie_word_embeddings": False},
    # Phi-3-mini-128k-instruct: longrope scaling (its 48 long and short factors stand in as 1.0: no count uses them)
    "phi3_mini_128k": {"model_type": "phi3", "vocab_size": 32064, "hidden_size": 3072, "intermediate_size": 8192,
                       "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32,
                       "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "max_position_embeddings": 131072,
                       "original_max_position_embeddings": 4096, "sliding_window": 262144,
                       "rope_scaling": {"type": "longrope", "long_factor": [1.0] * 48, "short_factor": [1.0] * 48},
                       "tie_word_embeddings": False},
    # phi-2
    "phi_2": {"model_type": "phi", "vocab_size": 51200, "hidden_size": 2560, "intermediate_size": 10240,
              "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32,
              "partial_rotary_factor": 0.4, "hidden_act": "gelu_new", "layer_norm_eps": 1e-5,
              "max_position_embeddings": 2048, "qk_layernorm": False, "tie_word_embeddings": False},
    # gpt2 and gpt2-medium
    "gpt2": {"model_type": "gpt2", "vocab_size": 50257, "n_embd": 768, "n_layer": 12, "n_head": 12,
             "n_positions": 1024, "n_inner": None, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5},
    "gpt2_medium": {"model_type": "gpt2", "vocab_size": 50257, "n_embd": 1024, "n_layer": 24, "n_head": 16,
                    "n_positions": 1024, "activation_function": "gelu_new"},
    # EleutherAI/pythia-160m, and pythia-410m's sizes with sequential residuals
    "pythia_160m": {"model_type": "gpt_neox", "vocab_size": 50304, "hidden_size": 768, "num_hidden_layers": 12,
                    "num_attention_heads": 12, "intermediate_size": 3072, "rotary_pct": 0.25,
                    "rotary_emb_base": 10000, "max_position_embeddings": 2048, "use_parallel_residual": True,
                    "hidden_act": "gelu", "layer_norm_eps": 1e-5, "tie_word_embeddings": False},
    "neox_sequential": {"model_type": "gpt_neox", "vocab_size": 50304, "hidden_size": 1024,
                        "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096,
                        "rotary_pct": 0.25, "max_position_embeddings": 2048, "use_parallel_residual": False,
                        "tie_word_embeddings": False},
    # tiiuae/falcon-7b and falcon-40b (new decoder architecture: grouped-query, two layer norms)
    "falcon_7b": {"model_type": "falcon", "vocab_size": 65024, "hidden_size": 4544, "num_hidden_layers": 32,
                  "num_attention_heads": 71, "multi_query": True, "parallel_attn": True,
                  "new_decoder_architecture": False, "bias": False, "alibi": False, "layer_norm_epsilon": 1e-5,
                  "max_position_embeddings": 2048, "tie_word_embeddings": True},
    "falcon_40b": {"model_type": "falcon", "vocab_size": 65024, "hidden_size": 8192, "num_hidden_layers": 60,
                   "num_attention_heads": 128, "num_kv_heads": 8, "new_decoder_architecture": True,
                   "parallel_attn": True, "bias": False, "alibi": False, "layer_norm_epsilon": 1e-5,
                   "max_position_embeddings": 2048},
    # facebook/opt-125m and opt-350m (post-norm, a 512-wide embedding projected in and out)
    "opt_125m": {"model_type": "opt", "vocab_size": 50272, "hidden_size": 768, "num_hidden_layers": 12,
                 "ffn_dim": 3072, "num_attention_heads": 12, "max_position_embeddings": 2048,
                 "word_embed_proj_dim": 768, "do_layer_norm_before": True, "activation_function": "relu",
                 "enable_bias": True},
    "opt_350m": {"model_type": "opt", "vocab_size": 50272, "hidden_size": 1024, "num_hidden_layers": 24,
                 "ffn_dim": 4096, "num_attention_heads": 16, "max_position_embeddings": 2048,
                 "word_embed_proj_dim": 512, "do_layer_norm_before": False, "activation_function": "relu"},
    "mixtral_8x7b": MIXTRAL,
}
ROUTED = ("mixtral_8x7b", "qwen1_5_moe")  # mixtures of experts: measured apart (meta cannot route)


def write(tmp_path: Path, name: str, config: dict[str, Any]) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(config))
    return path


def imported(tmp_path: Path, name: str, config: dict[str, Any], **overrides: Any) -> archcalc.Report:
    return archcalc.analyze(archcalc.load(import_file(str(write(tmp_path, name, config))), **overrides))


# ---- the oracle ----

def oracle(config: dict[str, Any], device: str = "meta") -> tuple[Any, Any]:
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    settings = {k: v for k, v in config.items() if k != "model_type" and v is not None}
    hf = transformers.AutoConfig.for_model(config["model_type"], **settings)
    hf._attn_implementation = "eager"
    if config["model_type"] in ("mixtral", "qwen2_moe"):
        hf._experts_implementation = "eager"  # a loop of F.linear per expert, which FlopCounterMode sees
    with torch.device(device):
        return transformers.AutoModelForCausalLM.from_config(hf, attn_implementation="eager").eval(), hf


def measure(model: Any, device: str = "meta") -> dict[str, Any]:
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode
    ids = torch.arange(T, device=device)[None] % 50
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(ids, use_cache=True)
    cache = getattr(out, "cache", None) or out.past_key_values
    return {"params": sum(p.numel() for p in model.parameters()),
            "buffers": sum(b.numel() for b in model.buffers()),
            "macs": counter.get_total_flops() // 2, "shape": tuple(out.logits.shape),
            "cache": sum(layer.keys.numel() + layer.values.numel() for layer in cache.layers)}


def masked_macs(hf: Any, window: int | None = None) -> int:
    """MACs of the (query, key) pairs a causal (sliding-window) mask hides, which eager attention computes."""
    seen = sum(1 for q in range(T) for k in range(T) if k <= q and (window is None or k > q - window))
    heads = hf.num_attention_heads
    head_dim = getattr(hf, "head_dim", None) or hf.hidden_size // heads
    return hf.num_hidden_layers * heads * 2 * head_dim * (T * T - seen)


@pytest.mark.parametrize("name", [n for n in CONFIGS if n not in ROUTED])
def test_imported_config_matches_transformers(tmp_path, name):
    config = CONFIGS[name]
    model, hf = oracle(config)
    got = measure(model)
    report = imported(tmp_path, name, config, T=T)
    assert report.totals.params == got["params"]
    assert report.totals.buffers == got["buffers"]
    assert report.totals.cache * broadcast_kv(config) == got["cache"]
    assert tuple(report.output_shape) == got["shape"]
    assert report.totals.macs == got["macs"] - masked_macs(hf, config.get("sliding_window"))


def broadcast_kv(config: dict[str, Any]) -> int:
    """transformers' Falcon with new_decoder_architecture broadcasts the kv heads' keys and values to every query
    head before caching them (modeling_falcon: torch.broadcast_to(key, query.shape), and the cache's
    num_kv_heads = num_heads): its cache is heads / kv_heads times the kv heads' own, which archcalc counts."""
    if config["model_type"] == "falcon" and config.get("new_decoder_architecture"):
        return config["num_attention_heads"] // config["num_kv_heads"]
    return 1


# Qwen1.5-MoE-A2.7B: 60 experts of 1408, 4 per token, a shared expert of 5632
QWEN2_MOE = {"model_type": "qwen2_moe", "vocab_size": 151936, "hidden_size": 2048, "intermediate_size": 5632,
             "moe_intermediate_size": 1408, "shared_expert_intermediate_size": 5632, "num_experts": 60,
             "num_experts_per_tok": 4, "num_hidden_layers": 24, "num_attention_heads": 16, "num_key_value_heads": 16,
             "decoder_sparse_step": 1, "mlp_only_layers": [], "norm_topk_prob": False, "rms_norm_eps": 1e-6,
             "rope_theta": 1e6, "max_position_embeddings": 8192, "use_sliding_window": False,
             "tie_word_embeddings": False}


def test_qwen2_moe_params_on_meta_and_macs_on_cpu(tmp_path):
    """Qwen1.5-MoE-A2.7B on meta for params and buffers; MACs, shape and cache at width 64, 2 layers, 8 experts of
    32, top 2, a shared expert of 96 on CPU."""
    torch = pytest.importorskip("torch")
    model, _ = oracle(QWEN2_MOE)
    report = imported(tmp_path, "qwen1_5_moe", QWEN2_MOE, T=T)
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    assert report.totals.buffers == sum(b.numel() for b in model.buffers())
    small = {**QWEN2_MOE, "vocab_size": 100, "hidden_size": 64, "moe_intermediate_size": 32,
             "shared_expert_intermediate_size": 96, "num_experts": 8, "num_experts_per_tok": 2,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2}
    torch.manual_seed(0)
    model, hf = oracle(small, "cpu")
    got = measure(model, "cpu")
    report = imported(tmp_path, "qwen2_moe_small", small, T=T)
    assert (report.totals.params, report.totals.buffers, report.totals.cache, tuple(report.output_shape)) == \
        (got["params"], got["buffers"], got["cache"], got["shape"])
    assert report.totals.macs == got["macs"] - masked_macs(hf)


def test_mixtral_params_on_meta_and_macs_on_cpu(tmp_path):
    """The full config on meta for params and buffers; routing needs values (meta cannot run it), so MACs, the
    shape and the cache at width 64, 2 layers, 4 heads / 2 K/V heads, 8 experts of 96 on CPU (FlopCounterMode
    counts each expert on the tokens routed to it)."""
    torch = pytest.importorskip("torch")
    model, _ = oracle(MIXTRAL)
    report = imported(tmp_path, "mixtral_8x7b", MIXTRAL, T=T)
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    assert report.totals.buffers == sum(b.numel() for b in model.buffers())
    small = {**MIXTRAL, "vocab_size": 100, "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2}
    torch.manual_seed(0)
    model, hf = oracle(small, "cpu")
    got = measure(model, "cpu")
    report = imported(tmp_path, "mixtral_small", small, T=T)
    assert (report.totals.params, report.totals.buffers, report.totals.cache, tuple(report.output_shape)) == \
        (got["params"], got["buffers"], got["cache"], got["shape"])
    assert report.totals.macs == got["macs"] - masked_macs(hf)


def test_llama3_import_is_the_zoo_spec(tmp_path):
    """Meta-Llama-3-8B's config gives the zoo's hand-written llama3_8b figures, in the symbol T too."""
    report = imported(tmp_path, "llama3_8b", LLAMA3_8B, symbolic=["T"])
    zoo = archcalc.analyze(archcalc.load("llama3_8b", symbolic=["T"]))
    assert report.totals.params == zoo.totals.params
    assert report.totals.macs == zoo.totals.macs
    assert report.totals.cache == zoo.totals.cache


def test_header_names_the_source_and_the_ignored_rope_scaling(tmp_path):
    text = import_file(str(write(tmp_path, "llama3_8b", LLAMA3_8B)))
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert "llama3_8b.json" in " ".join(header) and "rope_scaling ignored" in " ".join(header)
    assert all(len(line) <= 120 for line in text.splitlines())


# ---- errors: one line naming what is not handled ----

def one_line_error(tmp_path: Path, config: Any, text: str | None = None) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config) if text is None else text)
    with pytest.raises(SpecError) as caught:
        import_file(str(path))
    message = caught.value.format()
    assert "\n" not in message and str(path) in message
    return message


def test_unsupported_model_type(tmp_path):
    message = one_line_error(tmp_path, {"model_type": "rwkv", "hidden_size": 768})
    assert "model_type 'rwkv' is not supported" in message and "llama" in message


def test_missing_model_type_and_not_an_object(tmp_path):
    assert "model_type missing" in one_line_error(tmp_path, {"hidden_size": 768})
    assert "not an object" in one_line_error(tmp_path, [1, 2])
    assert "not JSON" in one_line_error(tmp_path, None, "{")
    assert "NaN is not a JSON number" in one_line_error(tmp_path, None, '{"model_type": "llama", "x": NaN}')


@pytest.mark.parametrize("change, named", [
    ({"attn_implementation": "sparse_blocks"}, "attn_implementation"),
    ({"partial_rotary_factor": 0.5}, "partial_rotary_factor"),
    ({"quantization_config": {"bits": 4}}, "quantization_config"),
    ({"hidden_act": "mish"}, "hidden_act"),
    ({"num_key_value_heads": 5}, "num_key_value_heads"),
    ({"hidden_size": True}, "hidden_size"),
])
def test_unhandled_llama_option(tmp_path, change, named):
    message = one_line_error(tmp_path, {**LLAMA3_8B, **change})
    assert f"model_type llama: {named}" in message


def test_mixed_layer_types_are_refused(tmp_path):
    mixed = {**CONFIGS["qwen2_7b"], "layer_types": ["full_attention"] * 27 + ["sliding_attention"]}
    assert "model_type qwen2: layer_types other than 28 x full_attention" in one_line_error(tmp_path, mixed)
    uniform = {**CONFIGS["qwen2_7b"], "layer_types": ["full_attention"] * 28}
    assert imported(tmp_path, "qwen2_uniform", uniform, T=T).totals.params == imported(
        tmp_path, "qwen2_7b", CONFIGS["qwen2_7b"], T=T).totals.params


@pytest.mark.parametrize("name", [*CONFIGS, "qwen1_5_moe"])
def test_imported_spec_is_symbolic_in_T(tmp_path, name):
    """Every import runs in its natural symbol: params free of T, MACs a polynomial in T that gives the numeric
    count at T = 8. The spec's lines are the zoo's width (at most 120 characters)."""
    config = QWEN2_MOE if name == "qwen1_5_moe" else CONFIGS[name]
    assert all(len(line) <= 120 for line in import_file(str(write(tmp_path, name, config))).splitlines())
    sympy = pytest.importorskip("sympy")
    report = imported(tmp_path, name, config, symbolic=["T"])
    assert not sympy.sympify(report.totals.params).free_symbols
    macs = sympy.sympify(report.totals.macs)
    assert {s.name for s in macs.free_symbols} == {"T"}
    assert macs.subs({s: T for s in macs.free_symbols}) == imported(tmp_path, name, config, T=T).totals.macs


@pytest.mark.parametrize("config, named", [
    ({**CONFIGS["falcon_7b"], "alibi": True}, "alibi"),
    ({**CONFIGS["phi_2"], "qk_layernorm": True}, "qk_layernorm"),
    ({**CONFIGS["qwen2_7b"], "use_sliding_window": True}, "use_sliding_window"),
    ({**CONFIGS["gpt2"], "add_cross_attention": True}, "add_cross_attention"),
])
def test_unhandled_family_option(tmp_path, config, named):
    assert f"{named} = True changes the counts and is not handled" in one_line_error(tmp_path, config)


def test_config_strings_cannot_inject_yaml(tmp_path):
    """A file name with a quote, a colon, a # and a line break stays in the header comment and the quoted name."""
    path = tmp_path / 'evil": x\n#name: owned.json'
    path.write_text(json.dumps(CONFIGS["gpt2"]))
    text = import_file(str(path))
    network = archcalc.load(text, T=T)
    assert network.name != "owned" and "\n#name" not in text


# ---- the command line ----

def test_cli_import_writes_the_spec_and_analyses_a_config_directly(tmp_path, capsys):
    from archcalc.cli import main
    config, out = write(tmp_path, "gpt2", CONFIGS["gpt2"]), tmp_path / "gpt2.yaml"
    assert main(["import", "hf", str(config), "-o", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    params = 50257 * 768 + 1024 * 768 + 12 * (4 * 768 + 768 * 2304 + 2304 + 768 * 768 + 768 + 2 * 768 * 3072 + 3072
                                              + 768) + 2 * 768  # GPT-2 small: 124,439,808 with the output tied
    assert params == 124_439_808
    assert archcalc.analyze(archcalc.load(str(out))).totals.params == params
    assert main([str(config), "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["params"] == params


def test_a_spec_written_as_json_is_still_a_spec(tmp_path, capsys):
    from archcalc.cli import main
    spec = tmp_path / "tiny.json"
    spec.write_text(json.dumps({"name": "tiny", "input": [4], "layers": [{"linear": {"out_features": 3}}]}))
    assert main([str(spec), "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["params"] == 4 * 3 + 3


def test_cli_import_error_is_one_line(tmp_path, capsys):
    from archcalc.cli import main
    config = write(tmp_path, "bad", {"model_type": "xlnet"})
    assert main(["import", "hf", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "model_type 'xlnet' is not supported" in err


def test_gemma2_windows_alternate(tmp_path):
    """Window 3 at T = 8 on gemma-2-9b's widths, 4 layers: layers 0 and 2 score each query's last 3 keys, layers
    1 and 3 every earlier key. The K/V cache: the sliding layers keep
    the window - 1 positions a next query can still see besides its own, as transformers does."""
    config = {**CONFIGS["gemma2_9b"], "num_hidden_layers": 4, "sliding_window": 3}
    model, hf = oracle(config)
    got = measure(model)
    report = imported(tmp_path, "gemma2_small", config, T=T)
    full = {**config, "num_hidden_layers": 2}
    sliding = {**full, "sliding_window": 3}
    hidden = masked_macs(oracle(full)[1]) + masked_macs(oracle(sliding)[1], window=3)
    assert report.totals.macs == got["macs"] - hidden
    per_position = 2 * 8 * 256  # keys and values of 8 kv heads of 256
    assert got["cache"] == 2 * per_position * T + 2 * per_position * (3 - 1)
    assert report.totals.cache == got["cache"]


def test_encoder_families_are_imported_through_the_command(tmp_path):
    """hf.py dispatches to hf_encoders' families too: bert-base-uncased's published 109,482,240 parameters (BertModel
    with its pooler)."""
    bert = {"model_type": "bert", "vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12,
            "num_attention_heads": 12, "intermediate_size": 3072, "max_position_embeddings": 512,
            "type_vocab_size": 2, "hidden_act": "gelu"}
    text = import_file(str(write(tmp_path, "bert", bert)))
    assert archcalc.analyze(archcalc.load(text)).totals.params == 109_482_240


@pytest.mark.parametrize("value, says", [
    (10**13, "is beyond any model's size"), (0, "is not a positive integer"), (4096.0, "is not a positive integer"),
    ("4096", "is not a positive integer"), (None, "is missing"),
])
def test_bad_sizes_are_one_line(tmp_path, value, says):
    message = one_line_error(tmp_path, {**LLAMA3_8B, "hidden_size": value})
    assert "model_type llama: hidden_size" in message and says in message


def test_integer_beyond_pythons_digit_limit_is_one_line(tmp_path):
    text = '{"model_type": "llama", "hidden_size": ' + "9" * 5000 + "}"
    assert "not a config" in one_line_error(tmp_path, None, text)
