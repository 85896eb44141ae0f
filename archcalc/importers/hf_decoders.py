"""Decoder-only Hugging Face families: config.json -> a spec in the zoo's style (variables for the
hyperparameters, one block, ``repeat: depth``, the rotary embedding module where transformers has one).

Each writer reads the config through ``hf_common.Config``: a value that changes the counts is either written into
the spec or refused in one line, never dropped.
"""
from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from typing import Any

from .hf_common import Config, comment, spec_name, yaml_float, yaml_str

ACTIVATIONS = {"silu": "silu", "swish": "silu", "gelu": "gelu", "gelu_new": "gelu_tanh",
               "gelu_pytorch_tanh": "gelu_tanh", "gelu_fast": "gelu_tanh", "relu": "relu"}
# The attention implementations whose counts are a causal kernel's (archcalc's `causal: true`).
ATTENTION = (None, "eager", "sdpa", "flash_attention_2", "flex_attention")


def _common_checks(cfg: Config) -> None:
    for key in ("attn_implementation", "_attn_implementation"):
        cfg.only(key, ATTENTION)
    cfg.only("quantization_config", (None,))
    cfg.ignore("rope_scaling", "RoPE scaling changes the frequencies, not the counts")
    parameters = cfg.config.get("rope_parameters")
    if isinstance(parameters, Mapping) and parameters.get("rope_type") not in (None, "default"):
        cfg.notes.append(f"rope_parameters.rope_type {comment(parameters.get('rope_type'))} ignored: it changes "
                         "the frequencies, not the counts")


def _rope_theta(cfg: Config, default: float = 10000.0) -> float:
    parameters = cfg.config.get("rope_parameters")
    if isinstance(parameters, Mapping) and parameters.get("rope_theta") is not None:
        return Config(parameters, cfg.source, cfg.family).number("rope_theta")
    return cfg.number("rope_theta", default)


def _variables(pairs: list[tuple[str, Any]]) -> str:
    """The variables line, wrapped at the zoo's width."""
    lines, line = [], "variables: {"
    for i, (name, value) in enumerate(pairs):
        item = f"{name}: {value}" + (", " if i < len(pairs) - 1 else "}")
        if len(line) + len(item) > 116:
            lines.append(line.rstrip())
            line = "            "
        line += item
    return "\n".join([*lines, line])


def _document(cfg: Config, architecture: str, summary: str, variables: list[tuple[str, Any]],
              symbols: list[str], block: str, description: str, body: list[str], layers: list[str]) -> str:
    prose = (f"Imported by `archcalc import hf` from {comment(cfg.source)} (model_type {cfg.family}), as Hugging "
             f"Face's {architecture}: {summary}. Counts assume a causal attention kernel (the pairs it computes, "
             f"not a masked square). {' '.join(comment(note) + '.' for note in cfg.notes)}")
    header = [f"# {line}" for line in textwrap.wrap(prose, 114)]
    return "\n".join([
        *header,
        f"name: {yaml_str(spec_name(cfg.source, cfg.family))}",
        _variables(variables),
        f"symbols: [{', '.join(symbols)}]",
        "input: [T]",
        "layout: sequence  # the receptive field runs along the tokens",
        "batch: B",
        "",
        "blocks:",
        f"  {block}:",
        f"    description: {yaml_str(description)}",
        "    layers:",
        *(f"      {line}" for line in body),
        "",
        "layers:",
        *(f"  {line}" for line in layers),
        ""])


def _attention(name: str, fields: list[str], indent: int) -> list[str]:
    """A multihead_attention line, wrapped under its opening brace."""
    head = f"- multihead_attention: {{name: {name}, "
    lines, line = [], head
    for i, item in enumerate(fields):
        item += ", " if i < len(fields) - 1 else "}"
        if len(indent * " " + line) + len(item) > 116:
            lines.append(line.rstrip())
            line = " " * len("- multihead_attention: {")
        line += item
    return [*lines, line]


def _residual(norm: str, inner: list[str]) -> list[str]:
    return ["- residual:", "    body:", f"      {norm}", *(f"      {line}" for line in inner)]


def _uniform_layers(cfg: Config, depth: int, kind: str) -> None:
    """transformers 5's layer_types, when the config gives them: every layer the one kind the spec repeats."""
    types = cfg.config.get("layer_types")
    if types is not None and (not isinstance(types, list) or len(types) != depth or set(types) != {kind}):
        raise cfg.error("layer_types", f"other than {depth} x {kind} is not handled",
                        "archcalc import hf repeats one kind of layer here; write the others by hand")


def _llama_like(config: Mapping[str, Any], source: str, family: str, architecture: str, *,
                qkv_bias: str = "attention_bias", out_bias: bool | None = None, window_key: str | None = None,
                experts: bool = False, scaled_embedding: bool = False, fused: bool = False,
                act_key: str = "hidden_act", act_default: str = "silu", ffn_key: str = "intermediate_size",
                experts_key: str = "num_local_experts", shared_expert: bool = False) -> str:
    """Llama and its kin: pre-norm RMSNorm residuals around RoPE grouped-query attention and a gated MLP (or a
    mixture of gated experts), a final RMSNorm, the output layer tied or not."""
    cfg = Config(config, source, family)
    _common_checks(cfg)
    width, depth = cfg.int("hidden_size"), cfg.int("num_hidden_layers")
    heads = cfg.int("num_attention_heads")
    kv_heads = cfg.int("num_key_value_heads", heads)
    head_dim = cfg.int("head_dim", width // heads) if "head_dim" in config else None
    if head_dim is None and width % heads:
        raise cfg.error("hidden_size", f"= {width} is not a multiple of num_attention_heads = {heads}",
                        "give head_dim")
    if heads % kv_heads:
        raise cfg.error("num_key_value_heads", f"= {kv_heads} does not divide num_attention_heads = {heads}",
                        "fix the config")
    cfg.only("partial_rotary_factor", (None, 1, 1.0))
    eps = cfg.number("rms_norm_eps", 1e-6)
    bias = cfg.flag(qkv_bias, False) if qkv_bias else False
    tied = cfg.flag("tie_word_embeddings", scaled_embedding)
    activation = cfg.choice(act_key, ACTIVATIONS, act_default)
    window = None
    if window_key == "use_sliding_window":  # Qwen2: a flag, off in every published config
        cfg.only("use_sliding_window", (None, False))
        cfg.ignore("sliding_window", "use_sliding_window is false")
    elif window_key:
        window = cfg.int(window_key, None)
    else:
        cfg.only("sliding_window", (None,))
    _uniform_layers(cfg, depth, "sliding_attention" if window is not None else "full_attention")
    ffn = cfg.int(ffn_key)
    variables = [("B", 1), ("T", cfg.int("max_position_embeddings", 2048)), ("cache", 0),
                 ("vocab", cfg.int("vocab_size")), ("width", width), ("depth", depth), ("heads", heads)]
    attention = ["num_heads: heads"]
    if kv_heads != heads:
        variables.append(("kv_heads", kv_heads))
        attention.append("kv_heads: kv_heads")
    if head_dim is not None:
        variables.append(("head_dim", head_dim))
        attention.append("head_dim: head_dim")
    variables.append(("ffn", ffn))
    if out_bias is None:  # one flag for all four projections
        attention.append(f"bias: {str(bias).lower()}")
    else:
        attention.append(f"bias: {{q: {str(bias).lower()}, k: {str(bias).lower()}, v: {str(bias).lower()}, "
                         f"out: {str(out_bias).lower()}}}")
    attention += [f"qkv: {'fused' if fused else 'separate'}", "rotary: true", "causal: true"]
    symbols = ["B", "T"]
    if window is not None:
        variables.append(("window", window))
        attention.append("window: window")
        symbols.append("window")
    attention += ["cache: cache", "kernel: fused"]
    if experts:
        variables += [("experts", cfg.int(experts_key)), ("top_k", cfg.int("num_experts_per_tok"))]
        cfg.ignore("router_aux_loss_coef", "a training loss")
        mlp = [f"- moe: {{name: mlp, experts: experts, top_k: top_k, hidden_features: ffn, activation: {activation}}}"]
        if shared_expert:  # Qwen2-MoE: plus a shared gated MLP, scaled by sigmoid(a width -> 1 linear) per token
            variables.append(("shared_ffn", cfg.int("shared_expert_intermediate_size")))
            mlp = _parallel({"experts": [mlp[0].replace("name: mlp", "name: experts")], "shared": _parallel({
                "shared_expert": [f"- gated_mlp: {{name: shared_expert, hidden_features: shared_ffn, "
                                  f"activation: {activation}}}"],
                "shared_expert_gate": ["- linear: {name: shared_expert_gate, out_features: 1, bias: false}",
                                       "- sigmoid"]}, merge="mul")})
    else:
        mlp_bias = cfg.flag("mlp_bias", False)
        mlp = [f"- gated_mlp: {{name: mlp, hidden_features: ffn, activation: {activation}"
               + (", bias: true}" if mlp_bias else "}")]
    norm = "rmsnorm: {name: %s, normalized_shape: width, eps: " + yaml_float(eps) + "}"
    body = [*_residual("- " + norm % "input_layernorm", _attention("self_attn", attention, 12)),
            *_residual("- " + norm % "post_attention_layernorm", mlp)]
    rotary_dim = "head_dim" if head_dim is not None else "width / heads"
    layers = ["- embedding: {name: embed_tokens, num_embeddings: vocab, embedding_dim: width}"]
    if scaled_embedding:  # Gemma multiplies the embedded tokens by sqrt(width), a 0-d buffer
        layers.append("- scalar_mul: {name: embed_scale, factor: width, exponent: 0.5, buffer: true}")
    layers += [f"- rotary_embedding: {{name: rotary_emb, dim: {rotary_dim}, base: {yaml_float(_rope_theta(cfg))}}}",
               "- decoder_layer: {name: layers, repeat: depth}",
               "- " + norm % "norm",
               "- linear: {name: lm_head, out_features: vocab, bias: false"
               + (", tied_to: embed_tokens}" if tied else "}")]
    what = "a mixture of gated experts" if experts else "a gated MLP"
    summary = (f"{depth} layers of width {width}, {heads} query heads and {kv_heads} key/value heads, {what} of "
               f"{ffn}, vocabulary {variables[3][1]}, output layer {'tied' if tied else 'untied'}")
    return _document(cfg, architecture, summary, variables, symbols, "decoder_layer",
                     f"pre-norm causal attention with RoPE and {what}, each in a residual.", body, layers)


def llama(config: Mapping[str, Any], source: str) -> str:
    return _llama_like(config, source, "llama", "LlamaForCausalLM")


def mistral(config: Mapping[str, Any], source: str) -> str:
    return _llama_like(config, source, "mistral", "MistralForCausalLM", window_key="sliding_window")


def mixtral(config: Mapping[str, Any], source: str) -> str:
    return _llama_like(config, source, "mixtral", "MixtralForCausalLM", qkv_bias="", window_key="sliding_window",
                       experts=True)


def qwen2(config: Mapping[str, Any], source: str) -> str:
    cfg = Config(config, source, "qwen2")
    cfg.only("attention_bias", (None, True))  # Qwen2's Q, K, V always have biases, its output projection none
    return _llama_like({**config, "attention_bias": True}, source, "qwen2", "Qwen2ForCausalLM", out_bias=False,
                       window_key="use_sliding_window")


def qwen2_moe(config: Mapping[str, Any], source: str) -> str:
    """Qwen2-MoE (Qwen1.5-MoE): Qwen2's attention, and in every layer a top-k of E gated experts plus a shared
    gated expert scaled by a sigmoid gate."""
    cfg = Config(config, source, "qwen2_moe")
    cfg.only("attention_bias", (None, True))
    cfg.only("decoder_sparse_step", (None, 1))  # every layer sparse
    cfg.only("mlp_only_layers", (None, []))
    cfg.ignore("intermediate_size", "no layer is a dense MLP")
    return _llama_like({**config, "attention_bias": True}, source, "qwen2_moe", "Qwen2MoeForCausalLM",
                       out_bias=False, window_key="use_sliding_window", experts=True, ffn_key="moe_intermediate_size",
                       experts_key="num_experts", shared_expert=True)


def gemma(config: Mapping[str, Any], source: str) -> str:
    """Gemma: Llama's layout with RMSNorm x (1 + w) (the same weight count), a GeGLU MLP, the embedded tokens
    scaled by sqrt(width), and the output layer tied."""
    if config.get("hidden_activation") is None and config.get("hidden_act") is not None:
        config = {**config, "hidden_activation": config["hidden_act"]}
    return _llama_like(config, source, "gemma", "GemmaForCausalLM", scaled_embedding=True,
                       act_key="hidden_activation", act_default="gelu_pytorch_tanh")


def phi3(config: Mapping[str, Any], source: str) -> str:
    """Phi-3: Llama's layout with fused qkv_proj and gate_up_proj (the same weights, fewer matrices)."""
    return _llama_like(config, source, "phi3", "Phi3ForCausalLM", window_key="sliding_window", fused=True)


def _mlp(activation: str, ffn: str = "ffn", bias: bool = True, name: str = "mlp") -> str:
    """The plain two-matrix MLP of GPT-2 and its descendants."""
    return (f"- gated_mlp: {{name: {name}, hidden_features: {ffn}, activation: {activation}, gated: false, "
            f"bias: {str(bias).lower()}}}")


def _layernorm(name: str, eps: float, affine: bool = True, bias: bool = True) -> str:
    extra = "" if affine else ", elementwise_affine: false"
    extra += "" if bias or not affine else ", bias: false"
    return f"- layernorm: {{name: {name}, normalized_shape: width, eps: {yaml_float(eps)}{extra}}}"


def _parallel(branches: dict[str, list[str]], merge: str = "add") -> list[str]:
    """A parallel of named branches, summed (the attention and the MLP of one layer, and the input) by default."""
    lines = ["- parallel:", "    branches:"]
    for name, layers in branches.items():
        lines += [f"      {name}:", *(f"        {line}" for line in layers)]
    return [*lines, f"    merge: {merge}"]


def _lm_head(name: str, bias: bool, tied_to: str | None) -> str:
    tail = f", tied_to: {tied_to}}}" if tied_to else "}"
    return f"- linear: {{name: {name}, out_features: vocab, bias: {str(bias).lower()}{tail}"


def gpt2(config: Mapping[str, Any], source: str) -> str:
    """GPT-2: pre-norm residuals around fused-QKV attention and a GELU MLP, learned positions, output tied."""
    cfg = Config(config, source, "gpt2")
    _common_checks(cfg)
    cfg.only("add_cross_attention", (None, False))
    width, heads, depth = cfg.int("n_embd"), cfg.int("n_head"), cfg.int("n_layer")
    positions = cfg.int("n_positions")
    ffn = cfg.int("n_inner", 4 * width)
    eps = cfg.number("layer_norm_epsilon", 1e-5)
    activation = cfg.choice("activation_function", ACTIVATIONS, "gelu_new")
    tied = cfg.flag("tie_word_embeddings", True)
    cfg.ignore("scale_attn_by_inverse_layer_idx", "an elementwise scale of the scores")
    variables = [("B", 1), ("T", positions), ("cache", 0), ("vocab", cfg.int("vocab_size")), ("n_ctx", positions),
                 ("width", width), ("depth", depth), ("heads", heads), ("ffn", ffn)]
    body = [*_residual(_layernorm("ln_1", eps), _attention(
                "attn", ["num_heads: heads", "causal: true", "cache: cache", "kernel: fused"], 12)),
            *_residual(_layernorm("ln_2", eps), [_mlp(activation)])]
    layers = ["- embedding: {name: wte, num_embeddings: vocab, embedding_dim: width}",
              "- positional_embedding: {name: wpe, max_positions: n_ctx}",
              "- gpt2_block: {name: h, repeat: depth}", _layernorm("ln_f", eps),
              _lm_head("lm_head", False, "wte" if tied else None)]
    summary = f"{depth} layers of width {width}, {heads} heads, an MLP of {ffn}, {positions} learned positions"
    return _document(cfg, "GPT2LMHeadModel", summary, variables, ["B", "T"], "gpt2_block",
                     "pre-norm causal self-attention and an MLP, each in a residual.", body, layers)


def _partial_rotary(cfg: Config, keys: tuple[str, ...], default: float) -> float:
    parameters = cfg.config.get("rope_parameters")
    for key in keys:
        if cfg.config.get(key) is not None:
            return cfg.number(key)
        if isinstance(parameters, Mapping) and parameters.get(key) is not None:
            return Config(parameters, cfg.source, cfg.family).number(key)
    return default


def gpt_neox(config: Mapping[str, Any], source: str) -> str:
    """GPT-NeoX (Pythia): fused-QKV attention with partial RoPE and a GELU MLP, each on its own layer norm, in
    parallel (x + attn(ln1 x) + mlp(ln2 x)) or in sequence."""
    cfg = Config(config, source, "gpt_neox")
    _common_checks(cfg)
    width, depth, heads = cfg.int("hidden_size"), cfg.int("num_hidden_layers"), cfg.int("num_attention_heads")
    head_dim = width // heads
    rotary_dim = int(head_dim * _partial_rotary(cfg, ("rotary_pct", "partial_rotary_factor"), 0.25))
    if rotary_dim < 1:
        raise cfg.error("rotary_pct", "rotates no feature", "give a larger rotary_pct")
    eps = cfg.number("layer_norm_eps", 1e-5)
    bias = cfg.flag("attention_bias", True)
    activation = cfg.choice("hidden_act", ACTIVATIONS, "gelu")
    tied = cfg.flag("tie_word_embeddings", False)
    parallel = cfg.flag("use_parallel_residual", True)
    ffn = cfg.int("intermediate_size")
    variables = [("B", 1), ("T", cfg.int("max_position_embeddings", 2048)), ("cache", 0),
                 ("vocab", cfg.int("vocab_size")), ("width", width), ("depth", depth), ("heads", heads),
                 ("ffn", ffn), ("rotary_dim", rotary_dim)]
    attention = _attention("attention", ["num_heads: heads", f"bias: {str(bias).lower()}", "rotary: true",
                                         "rotary_dim: rotary_dim", "causal: true", "cache: cache", "kernel: fused"],
                           14)
    if parallel:
        body = _parallel({"attention": [_layernorm("input_layernorm", eps), *attention],
                          "mlp": [_layernorm("post_attention_layernorm", eps), _mlp(activation)],
                          "residual": ["- identity"]})
    else:
        body = [*_residual(_layernorm("input_layernorm", eps), attention),
                *_residual(_layernorm("post_attention_layernorm", eps), [_mlp(activation)])]
    layers = ["- embedding: {name: embed_in, num_embeddings: vocab, embedding_dim: width}",
              f"- rotary_embedding: {{name: rotary_emb, dim: rotary_dim, base: "
              f"{yaml_float(_rope_theta(cfg, cfg.number('rotary_emb_base', 10000.0)))}}}",
              "- gpt_neox_layer: {name: layers, repeat: depth}", _layernorm("final_layer_norm", eps),
              _lm_head("embed_out", False, "embed_in" if tied else None)]
    summary = (f"{depth} layers of width {width}, {heads} heads with RoPE on {rotary_dim} of {head_dim} features, "
               f"an MLP of {ffn}, {'parallel' if parallel else 'sequential'} residuals")
    return _document(cfg, "GPTNeoXForCausalLM", summary, variables, ["B", "T"], "gpt_neox_layer",
                     "causal attention with partial RoPE and an MLP, each on its own layer norm.", body, layers)


def falcon(config: Mapping[str, Any], source: str) -> str:
    """Falcon: fused-QKV multi-query (or grouped-query, new_decoder_architecture) attention with RoPE and a GELU
    MLP, in parallel on one or two layer norms, or in sequence."""
    cfg = Config(config, source, "falcon")
    _common_checks(cfg)
    cfg.only("alibi", (None, False))
    width, depth, heads = cfg.int("hidden_size"), cfg.int("num_hidden_layers"), cfg.int("num_attention_heads")
    new = cfg.flag("new_decoder_architecture", False)
    # transformers' rule: num_kv_heads unless an old-architecture multi_query model, which has one
    kv_heads = cfg.int("num_kv_heads", heads) if new or not cfg.flag("multi_query", True) else 1
    bias = cfg.flag("bias", False)
    eps = cfg.number("layer_norm_epsilon", 1e-5)
    ffn = cfg.int("ffn_hidden_size", 4 * width)
    activation = cfg.choice("activation", ACTIVATIONS, "gelu")
    tied = cfg.flag("tie_word_embeddings", True)
    parallel = cfg.flag("parallel_attn", True)
    if new and not parallel:  # transformers builds no ln_attn / ln_mlp for it: not a model that runs
        raise cfg.error("parallel_attn", "= False with new_decoder_architecture is not handled",
                        "transformers runs that architecture in parallel only")
    norms = cfg.only("num_ln_in_parallel_attn", (None, 1, 2), 2 if new else 1) if parallel else 1
    variables = [("B", 1), ("T", cfg.int("max_position_embeddings", 2048)), ("cache", 0),
                 ("vocab", cfg.int("vocab_size")), ("width", width), ("depth", depth), ("heads", heads),
                 ("kv_heads", kv_heads), ("head_dim", width // heads), ("ffn", ffn)]
    attention = _attention("self_attention", ["num_heads: heads", "kv_heads: kv_heads", "head_dim: head_dim",
                                              f"bias: {str(bias).lower()}", "rotary: true", "causal: true",
                                              "cache: cache", "kernel: fused"], 14)
    mlp = _mlp(activation, bias=bias)
    if parallel and norms == 2:
        body = _parallel({"attention": [_layernorm("ln_attn", eps), *attention],
                          "mlp": [_layernorm("ln_mlp", eps), mlp], "residual": ["- identity"]})
    elif parallel:
        body = _residual(_layernorm("input_layernorm", eps),
                         _parallel({"self_attention": attention, "mlp": [mlp]}))
    else:
        body = [*_residual(_layernorm("input_layernorm", eps), attention),
                *_residual(_layernorm("post_attention_layernorm", eps), [mlp])]
    layers = ["- embedding: {name: word_embeddings, num_embeddings: vocab, embedding_dim: width}",
              f"- rotary_embedding: {{name: rotary_emb, dim: head_dim, base: {yaml_float(_rope_theta(cfg))}}}",
              "- decoder_layer: {name: h, repeat: depth}", _layernorm("ln_f", eps),
              _lm_head("lm_head", False, "word_embeddings" if tied else None)]
    summary = (f"{depth} layers of width {width}, {heads} query heads and {kv_heads} key/value heads, an MLP of "
               f"{ffn}, attention and MLP {'in parallel' if parallel else 'in sequence'}")
    return _document(cfg, "FalconForCausalLM", summary, variables, ["B", "T"], "decoder_layer",
                     "causal attention with RoPE and a GELU MLP on layer norms, added to the input.", body, layers)


def phi(config: Mapping[str, Any], source: str) -> str:
    """Phi-1/1.5/2: one layer norm feeding attention with partial RoPE and a GELU MLP in parallel, biases
    everywhere (the output layer's too)."""
    cfg = Config(config, source, "phi")
    _common_checks(cfg)
    cfg.only("qk_layernorm", (None, False))
    width, depth, heads = cfg.int("hidden_size"), cfg.int("num_hidden_layers"), cfg.int("num_attention_heads")
    kv_heads = cfg.int("num_key_value_heads", heads)
    head_dim = width // heads
    rotary_dim = int(head_dim * _partial_rotary(cfg, ("partial_rotary_factor",), 0.5))
    eps = cfg.number("layer_norm_eps", 1e-5)
    activation = cfg.choice("hidden_act", ACTIVATIONS, "gelu_new")
    tied = cfg.flag("tie_word_embeddings", False)
    ffn = cfg.int("intermediate_size")
    variables = [("B", 1), ("T", cfg.int("max_position_embeddings", 2048)), ("cache", 0),
                 ("vocab", cfg.int("vocab_size")), ("width", width), ("depth", depth), ("heads", heads)]
    fields = ["num_heads: heads"]
    if kv_heads != heads:
        variables.append(("kv_heads", kv_heads))
        fields.append("kv_heads: kv_heads")
    variables += [("ffn", ffn), ("rotary_dim", rotary_dim)]
    fields += ["qkv: separate", "rotary: true", "rotary_dim: rotary_dim", "causal: true", "cache: cache",
               "kernel: fused"]
    body = _residual(_layernorm("input_layernorm", eps),
                     _parallel({"self_attn": _attention("self_attn", fields, 20), "mlp": [_mlp(activation)]}))
    layers = ["- embedding: {name: embed_tokens, num_embeddings: vocab, embedding_dim: width}",
              f"- rotary_embedding: {{name: rotary_emb, dim: rotary_dim, base: {yaml_float(_rope_theta(cfg))}}}",
              "- decoder_layer: {name: layers, repeat: depth}", _layernorm("final_layernorm", eps),
              _lm_head("lm_head", True, "embed_tokens" if tied else None)]
    summary = (f"{depth} layers of width {width}, {heads} heads with RoPE on {rotary_dim} of {head_dim} features, "
               f"a GELU MLP of {ffn} in parallel with the attention")
    return _document(cfg, "PhiForCausalLM", summary, variables, ["B", "T"], "decoder_layer",
                     "one layer norm feeding causal attention and an MLP in parallel; their sum is added to the "
                     "input.", body, layers)


def opt(config: Mapping[str, Any], source: str) -> str:
    """OPT: learned positions (2 extra rows), attention and a ReLU MLP in pre-norm (or post-norm, OPT-350M)
    residuals, a projection in and out when the embedding is narrower than the model, output tied."""
    cfg = Config(config, source, "opt")
    _common_checks(cfg)
    width, depth, heads = cfg.int("hidden_size"), cfg.int("num_hidden_layers"), cfg.int("num_attention_heads")
    embed = cfg.int("word_embed_proj_dim", width)
    ffn = cfg.int("ffn_dim")
    positions = cfg.int("max_position_embeddings", 2048)
    pre_norm = cfg.flag("do_layer_norm_before", True)
    final_norm = pre_norm and not cfg.flag("_remove_final_layer_norm", False)
    bias = cfg.flag("enable_bias", True)
    affine = cfg.flag("layer_norm_elementwise_affine", True)
    activation = cfg.choice("activation_function", ACTIVATIONS, "relu")
    tied = cfg.flag("tie_word_embeddings", True)
    eps = 1e-5  # nn.LayerNorm's default: OPT's config has no eps
    variables = [("B", 1), ("T", positions), ("cache", 0), ("vocab", cfg.int("vocab_size")),
                 ("positions", positions), ("width", width)]
    if embed != width:
        variables.append(("embed_dim", embed))
    variables += [("depth", depth), ("heads", heads), ("ffn", ffn)]
    attention = _attention("self_attn", ["num_heads: heads", f"bias: {str(bias).lower()}", "qkv: separate",
                                         "causal: true", "cache: cache", "kernel: fused"], 12)
    mlp = [_mlp(activation, bias=bias)]
    if pre_norm:
        body = [*_residual(_layernorm("self_attn_layer_norm", eps, affine), attention),
                *_residual(_layernorm("final_layer_norm", eps, affine), mlp)]
    else:
        body = ["- residual:", "    body:", *(f"      {line}" for line in attention),
                _layernorm("self_attn_layer_norm", eps, affine),
                "- residual:", "    body:", *(f"      {line}" for line in mlp),
                _layernorm("final_layer_norm", eps, affine)]
    narrow = embed != width
    layers = [f"- embedding: {{name: embed_tokens, num_embeddings: vocab, embedding_dim: "
              f"{'embed_dim' if narrow else 'width'}}}"]
    if narrow:
        layers.append("- linear: {name: project_in, out_features: width, bias: false}")
    layers += ["- positional_embedding: {name: embed_positions, max_positions: positions + 2}  # OPT's offset of 2",
               "- decoder_layer: {name: layers, repeat: depth}"]
    if final_norm:
        layers.append(_layernorm("final_layer_norm", eps, affine))
    if narrow:
        layers.append("- linear: {name: project_out, out_features: embed_dim, bias: false}")
    layers.append(_lm_head("lm_head", False, "embed_tokens" if tied else None))
    summary = (f"{depth} layers of width {width}, {heads} heads, a {activation} MLP of {ffn}, {positions} learned "
               f"positions, {'pre' if pre_norm else 'post'}-norm residuals")
    return _document(cfg, "OPTForCausalLM", summary, variables, ["B", "T"], "decoder_layer",
                     "causal self-attention and an MLP, each in a residual with its layer norm.", body, layers)


def gemma2(config: Mapping[str, Any], source: str) -> str:
    """Gemma 2: Gemma's layers with an RMSNorm after the attention and around the MLP (four per layer), and
    sliding-window attention on every other layer (layer 0 sliding, layer 1 full, ...)."""
    cfg = Config(config, source, "gemma2")
    _common_checks(cfg)
    width, depth, heads = cfg.int("hidden_size"), cfg.int("num_hidden_layers"), cfg.int("num_attention_heads")
    kv_heads = cfg.int("num_key_value_heads", heads)
    head_dim = cfg.int("head_dim", 256)
    window = cfg.int("sliding_window", 4096)
    alternating = ["sliding_attention" if (i + 1) % 2 else "full_attention" for i in range(depth)]
    if config.get("layer_types") is not None and list(config["layer_types"]) != alternating:
        raise cfg.error("layer_types", "other than sliding and full attention alternating is not handled",
                        "write the layers by hand")
    bias = cfg.flag("attention_bias", False)
    eps = cfg.number("rms_norm_eps", 1e-6)
    activation = cfg.choice("hidden_activation", ACTIVATIONS, "gelu_pytorch_tanh")
    tied = cfg.flag("tie_word_embeddings", True)
    ffn = cfg.int("intermediate_size")
    cfg.ignore("query_pre_attn_scalar", "the scores' scale is one multiply either way")
    for key in ("attn_logit_softcapping", "final_logit_softcapping"):
        cfg.ignore(key, "a tanh per score (logit) that this spec's FLOPs leave out; no MACs")
    variables = [("B", 1), ("T", cfg.int("max_position_embeddings", 8192)), ("cache", 0),
                 ("vocab", cfg.int("vocab_size")), ("width", width), ("depth", depth), ("heads", heads),
                 ("kv_heads", kv_heads), ("head_dim", head_dim), ("ffn", ffn), ("window", window)]
    fields = ["num_heads: heads", "kv_heads: kv_heads", "head_dim: head_dim", f"bias: {str(bias).lower()}",
              "qkv: separate", "rotary: true", "causal: true"]
    tail = ["cache: cache", "kernel: fused"]
    norm = "- rmsnorm: {name: %s, normalized_shape: width, eps: " + yaml_float(eps) + "}"
    sliding = _attention("self_attn", [*fields, "window: window", *tail, "if: sliding"], 12)
    full = _attention("self_attn", [*fields, *tail, 'if: "not sliding"'], 12)
    body = ["- residual:", "    body:", f"      {norm % 'input_layernorm'}", *(f"      {line}" for line in sliding),
            *(f"      {line}" for line in full), f"      {norm % 'post_attention_layernorm'}",
            "- residual:", "    body:", f"      {norm % 'pre_feedforward_layernorm'}",
            f"      - gated_mlp: {{name: mlp, hidden_features: ffn, activation: {activation}}}",
            f"      {norm % 'post_feedforward_layernorm'}"]
    layers = ["- embedding: {name: embed_tokens, num_embeddings: vocab, embedding_dim: width}",
              "- scalar_mul: {name: embed_scale, factor: width, exponent: 0.5, buffer: true}",
              f"- rotary_embedding: {{name: rotary_emb, dim: head_dim, base: {yaml_float(_rope_theta(cfg))}}}",
              '- decoder_layer: {name: layers, repeat: depth, sliding: "i % 2 == 0"}',
              norm % "norm", _lm_head("lm_head", False, "embed_tokens" if tied else None)]
    summary = (f"{depth} layers of width {width}, {heads} query heads and {kv_heads} key/value heads of {head_dim}, "
               f"sliding windows of {window} on every other layer, a gated MLP of {ffn}")
    text = _document(cfg, "Gemma2ForCausalLM", summary, variables, ["B", "T", "window"], "decoder_layer",
                     "causal attention with RoPE (windowed on even layers) and a gated MLP, each between two "
                     "RMSNorms.", body, layers)
    return text.replace("  decoder_layer:\n", "  decoder_layer:\n    args: {sliding: false}\n", 1)


FAMILIES: dict[str, Callable[[Mapping[str, Any], str], str]] = {
    "llama": llama, "mistral": mistral, "mixtral": mixtral, "qwen2": qwen2, "gemma": gemma, "phi3": phi3,
    "gpt2": gpt2, "gpt_neox": gpt_neox, "falcon": falcon, "phi": phi, "opt": opt, "gemma2": gemma2,
    "qwen2_moe": qwen2_moe,
}
