"""archcalc.importers.hf_encoders against Hugging Face transformers (5.24.0): each config below is built in code from
the published hyperparameters of a checkpoint's config.json (named in its entry; nothing is downloaded), imported
to a spec, analysed, and compared with the model transformers builds from the same config on the meta device:
params as sum(numel) of parameters(), buffers as the persistent buffers (those in state_dict: BART's
final_logits_bias; the index tables position_ids and token_type_ids that BERT-like models register with
persistent=False are left out, and the test checks that they are the only ones), MACs as FlopCounterMode / 2 of a
forward pass, and the output's shape. For the encoder-decoders also the K/V cache the model hands back after a
prefill, and the MACs, shape and cache of one decode step against it (see tests/test_zoo_encdec.py, whose
measuring helpers are used here).

FlopCounterMode counts the full score square of a decoder's causal self-attention; archcalc counts the lower
triangle, so the hidden pairs are added: per layer 2 x heads x head_dim x (T^2 - T(T+1)/2)."""
from __future__ import annotations

from typing import Any, NamedTuple

import pytest

import archcalc
from archcalc.importers.hf_encoders import FAMILIES

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from test_zoo_encdec import cached, kept, run  # noqa: E402  (after the importorskips)

S, T = 7, 5  # encoder tokens and decoder tokens (small: the counts are closed forms anyway)

# --- published configs (the checkpoints' config.json, hyperparameters only)
ENCODERS: dict[str, tuple[str, dict[str, Any]]] = {
    "bert-base-uncased": ("BertModel", {
        "model_type": "bert", "vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12,
        "num_attention_heads": 12, "intermediate_size": 3072, "hidden_act": "gelu", "max_position_embeddings": 512,
        "type_vocab_size": 2, "layer_norm_eps": 1e-12, "position_embedding_type": "absolute"}),
    "bert-large-uncased": ("BertModel", {
        "model_type": "bert", "vocab_size": 30522, "hidden_size": 1024, "num_hidden_layers": 24,
        "num_attention_heads": 16, "intermediate_size": 4096, "hidden_act": "gelu", "max_position_embeddings": 512,
        "type_vocab_size": 2, "layer_norm_eps": 1e-12}),
    "roberta-base": ("RobertaModel", {
        "model_type": "roberta", "vocab_size": 50265, "hidden_size": 768, "num_hidden_layers": 12,
        "num_attention_heads": 12, "intermediate_size": 3072, "hidden_act": "gelu", "max_position_embeddings": 514,
        "type_vocab_size": 1, "layer_norm_eps": 1e-5, "pad_token_id": 1}),
    "distilbert-base-uncased": ("DistilBertModel", {
        "model_type": "distilbert", "vocab_size": 30522, "dim": 768, "n_layers": 6, "n_heads": 12,
        "hidden_dim": 3072, "activation": "gelu", "max_position_embeddings": 512, "sinusoidal_pos_embds": False}),
    "distilroberta-base": ("RobertaModel", {
        "model_type": "roberta", "vocab_size": 50265, "hidden_size": 768, "num_hidden_layers": 6,
        "num_attention_heads": 12, "intermediate_size": 3072, "hidden_act": "gelu", "max_position_embeddings": 514,
        "type_vocab_size": 1, "layer_norm_eps": 1e-5, "pad_token_id": 1}),
    "google/vit-large-patch16-224": ("ViTModel", {
        "model_type": "vit", "hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16,
        "intermediate_size": 4096, "hidden_act": "gelu", "layer_norm_eps": 1e-12, "image_size": 224,
        "patch_size": 16, "num_channels": 3, "qkv_bias": True}),
    "google/vit-base-patch16-224": ("ViTModel", {
        "model_type": "vit", "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
        "intermediate_size": 3072, "hidden_act": "gelu", "layer_norm_eps": 1e-12, "image_size": 224,
        "patch_size": 16, "num_channels": 3, "qkv_bias": True}),
}

ENCODER_DECODERS: dict[str, tuple[str, dict[str, Any]]] = {
    "t5-small": ("T5ForConditionalGeneration", {
        "model_type": "t5", "vocab_size": 32128, "d_model": 512, "d_kv": 64, "d_ff": 2048, "num_layers": 6,
        "num_decoder_layers": 6, "num_heads": 8, "relative_attention_num_buckets": 32,
        "relative_attention_max_distance": 128, "feed_forward_proj": "relu", "layer_norm_epsilon": 1e-6}),
    "t5-base": ("T5ForConditionalGeneration", {
        "model_type": "t5", "vocab_size": 32128, "d_model": 768, "d_kv": 64, "d_ff": 3072, "num_layers": 12,
        "num_heads": 12, "relative_attention_num_buckets": 32, "feed_forward_proj": "relu"}),
    "google/t5-v1_1-small": ("T5ForConditionalGeneration", {
        "model_type": "t5", "vocab_size": 32128, "d_model": 512, "d_kv": 64, "d_ff": 1024, "num_layers": 8,
        "num_decoder_layers": 8, "num_heads": 6, "relative_attention_num_buckets": 32,
        "feed_forward_proj": "gated-gelu", "tie_word_embeddings": False}),
    "google/flan-t5-small": ("T5ForConditionalGeneration", {
        "model_type": "t5", "vocab_size": 32128, "d_model": 512, "d_kv": 64, "d_ff": 1024, "num_layers": 8,
        "num_decoder_layers": 8, "num_heads": 6, "relative_attention_num_buckets": 32,
        "relative_attention_max_distance": 128, "feed_forward_proj": "gated-gelu", "tie_word_embeddings": False,
        "layer_norm_epsilon": 1e-6}),
    "facebook/bart-large": ("BartForConditionalGeneration", {
        "model_type": "bart", "vocab_size": 50265, "d_model": 1024, "encoder_layers": 12, "decoder_layers": 12,
        "encoder_attention_heads": 16, "decoder_attention_heads": 16, "encoder_ffn_dim": 4096,
        "decoder_ffn_dim": 4096, "max_position_embeddings": 1024, "activation_function": "gelu",
        "scale_embedding": False}),
    "facebook/bart-base": ("BartForConditionalGeneration", {
        "model_type": "bart", "vocab_size": 50265, "d_model": 768, "encoder_layers": 6, "decoder_layers": 6,
        "encoder_attention_heads": 12, "decoder_attention_heads": 12, "encoder_ffn_dim": 3072,
        "decoder_ffn_dim": 3072, "max_position_embeddings": 1024, "activation_function": "gelu",
        "scale_embedding": False}),
    "openai/whisper-tiny": ("WhisperForConditionalGeneration", {
        "model_type": "whisper", "vocab_size": 51865, "num_mel_bins": 80, "d_model": 384, "encoder_layers": 4,
        "decoder_layers": 4, "encoder_attention_heads": 6, "decoder_attention_heads": 6, "encoder_ffn_dim": 1536,
        "decoder_ffn_dim": 1536, "max_source_positions": 1500, "max_target_positions": 448,
        "activation_function": "gelu"}),
    "openai/whisper-base": ("WhisperForConditionalGeneration", {
        "model_type": "whisper", "vocab_size": 51865, "num_mel_bins": 80, "d_model": 512, "encoder_layers": 6,
        "decoder_layers": 6, "encoder_attention_heads": 8, "decoder_attention_heads": 8, "encoder_ffn_dim": 2048,
        "decoder_ffn_dim": 2048, "max_source_positions": 1500, "max_target_positions": 448,
        "activation_function": "gelu"}),
}

CONFIG_CLASS = {"bert": "BertConfig", "roberta": "RobertaConfig", "distilbert": "DistilBertConfig",
                "vit": "ViTConfig", "t5": "T5Config", "bart": "BartConfig", "whisper": "WhisperConfig"}


def build(model_class: str, config: dict[str, Any]) -> Any:
    fields = {k: v for k, v in config.items() if k != "model_type"}
    hf_config = getattr(transformers, CONFIG_CLASS[config["model_type"]])(**fields, attn_implementation="eager")
    with torch.device("meta"):
        return getattr(transformers, model_class)(hf_config).eval()


def imported(config: dict[str, Any], **sizes: Any) -> Any:
    text = FAMILIES[config["model_type"]](config, "config.json")
    return archcalc.analyze(archcalc.load(text, **sizes))


def persistent_buffers(model: Any) -> int:
    """Buffers in state_dict; the others must be the index tables (position_ids, token_type_ids)."""
    kept_names = set(model.state_dict())
    index_tables = {name.rsplit(".", 1)[-1] for name, _ in model.named_buffers() if name not in kept_names}
    assert index_tables <= {"position_ids", "token_type_ids"}
    return sum(b.numel() for name, b in model.named_buffers() if name in kept_names)


class Measured(NamedTuple):
    params: int
    buffers: int
    macs: int
    shape: tuple[int, ...]


@pytest.mark.parametrize("checkpoint", sorted(ENCODERS))
def test_encoder_is_exact(checkpoint: str) -> None:
    model_class, config = ENCODERS[checkpoint]
    model = build(model_class, config)
    with torch.device("meta"):
        if config["model_type"] == "vit":
            inputs, sizes = {"pixel_values": torch.zeros(1, 3, 224, 224)}, {}
        else:
            inputs, sizes = {"input_ids": torch.ones(1, S, dtype=torch.long)}, {"T": S}
    out, macs = run_plain(model, **inputs)
    first = out.pooler_output if getattr(out, "pooler_output", None) is not None else out.last_hidden_state
    got = Measured(sum(p.numel() for p in model.parameters()), persistent_buffers(model), macs, tuple(first.shape))
    report = imported(config, **sizes)
    assert Measured(report.totals.params, report.totals.buffers, report.totals.macs,
                    tuple(report.output_shape)) == got


def run_plain(model: Any, **inputs: Any) -> tuple[Any, int]:
    from torch.utils.flop_counter import FlopCounterMode
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(**inputs)
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return out, flops // 2


MODEL_CLASS = {"bert": "BertModel", "roberta": "RobertaModel", "distilbert": "DistilBertModel", "vit": "ViTModel",
               "t5": "T5ForConditionalGeneration", "bart": "BartForConditionalGeneration",
               "whisper": "WhisperForConditionalGeneration"}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_missing_field_takes_the_config_class_default(family: str) -> None:
    """A config.json may omit fields: each takes transformers' default (BartConfig's are bart-large's)."""
    model = build(MODEL_CLASS[family], {"model_type": family})
    sizes = {"T": 5} if family not in ("vit", "whisper") else {}
    assert imported({"model_type": family}, **sizes).totals.params == sum(p.numel() for p in model.parameters())


def test_vit_for_image_classification() -> None:
    """The vit-base-patch16-224 checkpoint names ViTForImageClassification and 1000 labels: the imported spec is that
    model (no pooler; a classifier on the class token), exact in params, MACs and the logits' shape."""
    config = {**ENCODERS["google/vit-base-patch16-224"][1], "architectures": ["ViTForImageClassification"],
              "id2label": {str(i): f"class {i}" for i in range(1000)}}
    model = build("ViTForImageClassification", config)
    with torch.device("meta"):
        out, macs = run_plain(model, pixel_values=torch.zeros(1, 3, 224, 224))
    report = imported(config)
    assert report.totals.params == sum(p.numel() for p in model.parameters()) == 86_567_656  # as torchvision's
    assert report.totals.macs == macs
    assert tuple(report.output_shape) == tuple(out.logits.shape) == (1, 1000)


def test_bart_scale_embedding() -> None:
    """scale_embedding: the token rows times sqrt(d_model), S x d and T x d multiplies (elementwise, outside the
    MACs); params and MACs as transformers' model."""
    config = {**ENCODER_DECODERS["facebook/bart-base"][1], "scale_embedding": True}
    model = build("BartForConditionalGeneration", config)
    with torch.device("meta"):
        _, macs = run(model, input_ids=torch.zeros(1, S, dtype=torch.long),
                      decoder_input_ids=torch.zeros(1, T, dtype=torch.long))
    report = imported(config, S=S, T=T)
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    assert report.totals.macs + hidden(config, *decoder_shape(config), T) == macs
    assert [r.flops for r in report.layers if r.type == "scalar_mul"] == [S * 768, T * 768]


def test_published_parameter_counts() -> None:
    """The imported specs give the checkpoints' published sizes (the model cards / papers, rounded there)."""
    assert imported(ENCODERS["bert-base-uncased"][1], T=S).totals.params == 109_482_240
    assert imported(ENCODERS["distilbert-base-uncased"][1], T=S).totals.params == 66_362_880  # "66M"
    assert imported(ENCODER_DECODERS["t5-small"][1], S=S, T=T).totals.params == 60_506_624  # "60M"


def hidden(config: dict[str, Any], layers: int, heads: int, head_dim: int, t: int) -> int:
    return layers * 2 * heads * head_dim * (t * t - t * (t + 1) // 2)


def decoder_shape(config: dict[str, Any]) -> tuple[int, int, int]:
    """Decoder layers, heads, head_dim."""
    kind = config["model_type"]
    if kind == "t5":
        return config.get("num_decoder_layers", config["num_layers"]), config["num_heads"], config["d_kv"]
    heads = config["decoder_attention_heads"]
    return config["decoder_layers"], heads, config["d_model"] // heads


HEAD_ROWS = {"t5": ("lm_scale", "lm_head"),  "bart": ("lm_head", "final_logits_bias"), "whisper": ("proj_out",)}


@pytest.mark.parametrize("checkpoint", sorted(ENCODER_DECODERS))
def test_encoder_decoder_is_exact(checkpoint: str) -> None:
    model_class, config = ENCODER_DECODERS[checkpoint]
    model = build(model_class, config)
    whisper = config["model_type"] == "whisper"
    with torch.device("meta"):
        encoder = {"input_features": torch.zeros(1, 80, 3000)} if whisper else \
            {"input_ids": torch.zeros(1, S, dtype=torch.long)}
        tokens = torch.zeros(1, T, dtype=torch.long)
    sizes = {} if whisper else {"S": S}
    prefill, prefill_macs = run(model, **encoder, decoder_input_ids=tokens)
    prefill_cache = cached(kept(prefill))  # before the step, which grows the cache in place
    step, step_macs = run(model, encoder_outputs=(prefill.encoder_last_hidden_state,),
                          decoder_input_ids=tokens[:, :1], cache=kept(prefill))

    report = imported(config, T=T, **sizes)
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    assert report.totals.buffers == persistent_buffers(model)
    assert report.totals.macs + hidden(config, *decoder_shape(config), T) == prefill_macs
    assert tuple(report.output_shape) == tuple(prefill.logits.shape)
    assert report.totals.cache == prefill_cache

    decode = imported(config, T=1, cache=T, **sizes)
    block = next(b for b in decode.blocks if b.name == "decoder")
    rows = {r.name: r for r in decode.layers}
    head = [n for n in HEAD_ROWS[config["model_type"]] if n != "lm_scale" or config.get("tie_word_embeddings", True)]
    assert block.totals.macs + sum(rows[n].macs for n in head) == step_macs
    assert tuple(decode.output_shape) == tuple(step.logits.shape)
    assert decode.totals.cache == cached(kept(step))


@pytest.mark.parametrize("checkpoint, symbol, at", [
    ("bert-base-uncased", "T", T), ("roberta-base", "T", T), ("distilbert-base-uncased", "T", T),
    ("google/vit-base-patch16-224", "image", 64), ("t5-small", "T", T), ("google/flan-t5-small", "T", T),
    ("facebook/bart-base", "T", T), ("openai/whisper-tiny", "T", T)])
def test_symbolic_in_the_natural_symbol(checkpoint: str, symbol: str, at: int) -> None:
    """Symbolic mode in T (tokens) or image (ViT's side), equal to the numeric walk at a point."""
    import sympy
    config = {**ENCODERS, **ENCODER_DECODERS}[checkpoint][1]
    sizes = {"S": S} if config["model_type"] in ("t5", "bart") else {}
    text = FAMILIES[config["model_type"]](config, "config.json")
    formula = archcalc.analyze(archcalc.load(text, symbolic=(symbol,), **sizes)).totals.macs
    numeric = archcalc.analyze(archcalc.load(text, **{symbol: at}, **sizes)).totals.macs
    assert sympy.sympify(str(formula)).subs(symbol, at) == numeric


# --- options that change counts and are not mapped: one line naming the field

@pytest.mark.parametrize("family, change, field", [
    ("bert", {"position_embedding_type": "relative_key"}, "position_embedding_type"),
    ("bert", {"is_decoder": True}, "is_decoder"),
    ("roberta", {"hidden_act": "mish_of_my_own"}, "hidden_act"),
    ("vit", {"image_size": 225}, "image_size"),
    ("t5", {"feed_forward_proj": "gated-mish"}, "feed_forward_proj"),
    ("whisper", {"scale_embedding": True}, "scale_embedding"),
    ("whisper", {"tie_word_embeddings": False}, "tie_word_embeddings"),
    ("distilbert", {"dim": "768\nname: injected"}, "dim"),  # text where a number belongs never reaches the YAML
    ("bert", {"layer_norm_eps": float("inf")}, "layer_norm_eps"),
    ("whisper", {"d_model": 384, "encoder_attention_heads": 5}, "encoder_attention_heads"),
])
def test_unhandled_options_are_one_line_errors(family: str, change: dict[str, Any], field: str) -> None:
    with pytest.raises(archcalc.SpecError) as error:
        FAMILIES[family]({"model_type": family, **change}, "config.json")
    line = error.value.format()
    assert "\n" not in line and field in line and line.startswith("config.json: ")


def test_source_name_cannot_inject_yaml() -> None:
    """The source name goes into the header comment escaped: a newline in it does not start a YAML line."""
    source = 'x.json\nname: injected # "quoted"'
    text = FAMILIES["bert"](ENCODERS["bert-base-uncased"][1], source)
    assert "\nname: injected" not in text
    assert archcalc.load(text, T=S).name == "bert"
    hostile = {**ENCODERS["bert-base-uncased"][1], "architectures": ["BertForMaskedLM\u2028name: x", "\x85#\r"]}
    text = FAMILIES["bert"](hostile, "config.json")
    assert "BertForMaskedLM" in text and text.isascii()
    assert archcalc.load(text, T=S).name == "bert"
