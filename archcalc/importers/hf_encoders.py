"""Hugging Face encoders and encoder-decoders to archcalc specs: ``FAMILIES`` maps a config's ``model_type`` to a
function (config, source name) -> the spec's YAML text, in the zoo's style (variables for the hyperparameters, a
block with ``repeat``, a header naming the source config).

Each spec is the model transformers (5.x) builds for that config: BertModel, RobertaModel (both with their
pooler), DistilBertModel, ViTModel (with its pooler; ViTForImageClassification when the config's architectures
name it), T5ForConditionalGeneration, BartForConditionalGeneration and WhisperForConditionalGeneration; a field the
config omits takes its config class's default. Other task heads the architectures name are not imported (the
header says so). A config option that would change a count and is not mapped here is refused with a one-line
SpecError naming it; options that change no count (dropouts, initialisers, token ids) are ignored.

Only numbers reach the YAML from the config, each checked to be one; config text (the source name, the
architectures) appears only in the header comment, through ``json.dumps``, which escapes quotes, line breaks and
every non-ASCII character, so it cannot end the comment early.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from ..core.errors import SpecError
from .hf_common import yaml_float

Config = Mapping[str, Any]


def _shown(value: Any) -> str:
    """A config value in an error message, as JSON writes it."""
    return json.dumps(value, default=repr)


# ------------------------------------------------------------------ reading the config

class Reader:
    """The config's fields, checked as they are read; errors name the field and the source."""

    def __init__(self, config: Config, source: str, family: str) -> None:
        self.config, self.source, self.family = config, source, family

    def fail(self, message: str, hint: str) -> SpecError:
        return SpecError(f"{self.family} config: {message}", file=self.source, hint=hint)

    def get(self, key: str, default: Any = None) -> Any:
        return self.config.get(key, default)

    def int(self, key: str, default: Any = None, *, positive: bool = True) -> int:
        value = self.config.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or (positive and value <= 0) or value < 0:
            raise self.fail(f"{key} = {_shown(value)} is not a {'positive' if positive else 'whole'} number",
                            f"set {key} to the model's value")
        return value

    def float(self, key: str, default: float) -> str:
        """A float as YAML 1.1 reads it (PyYAML wants a dot in the mantissa: 1.0e-12, not 1e-12)."""
        value = self.config.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(f"{key} = {_shown(value)} is not a number", f"set {key} to the model's value")
        return yaml_float(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.config.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(f"{key} = {_shown(value)} is not true or false", f"set {key} to true or false")
        return value

    def only(self, key: str, default: Any, allowed: tuple[Any, ...], why: str) -> Any:
        """A field whose other values change counts in ways this importer does not map."""
        value = self.config.get(key, default)
        if value not in allowed:
            shown = ", ".join(json.dumps(a) for a in allowed)
            raise self.fail(f"{key} = {_shown(value)} is not supported ({why})",
                            f"the importer handles {key} = {shown}; write this part of the spec by hand")
        return value

    def activation(self, key: str, default: str) -> str:
        """The spec's activation layer for a transformers ACT2FN name."""
        value = self.only(key, default, tuple(ACTIVATIONS), "an activation the importer does not map")
        return ACTIVATIONS[value]


# transformers' ACT2FN names -> archcalc layers (gelu_new and gelu_pytorch_tanh are the tanh approximation)
ACTIVATIONS = {"gelu": "gelu", "relu": "relu", "gelu_new": "gelu: {approximate: tanh}",
               "gelu_pytorch_tanh": "gelu: {approximate: tanh}", "tanh": "tanh", "silu": "silu", "swish": "silu"}


def _variables(values: Mapping[str, int]) -> str:
    """A flow mapping after ``variables: ``, wrapped before 116 columns (continuations under its first key)."""
    lines, line = [], ""
    for item in (f"{k}: {v}" for k, v in values.items()):
        if line and len("variables: {" + line + item) > 114:
            lines.append(line.rstrip())
            line = ""
        line += item + ", "
    lines.append(line[:-2])
    return "{" + "\n            ".join(lines) + "}"


def header(title: str, r: Reader, model: str, notes: str = "") -> str:
    """The spec's header comment; config text in it (the source name, architectures) is JSON-escaped, so that no
    line break (\\n, \\r, U+0085, U+2028: all escaped by ensure_ascii) can end the comment."""
    lines = [f"# {title}, imported by `archcalc import hf` from the Hugging Face config",
             f"# {json.dumps(r.source)}, as transformers' {model} builds it."]
    named = r.get("architectures")
    if named and named != [model]:
        lines.append(f"# The config names the architectures {json.dumps(named)}; their task heads are not imported.")
    lines += [f"# {line}" for line in notes.splitlines()]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ BERT, RoBERTa, DistilBERT

def _bert_like(config: Config, source: str, family: str, model: str) -> str:
    r = Reader(config, source, family)
    r.only("position_embedding_type", "absolute", ("absolute",), "relative position embeddings add score terms")
    r.only("is_decoder", False, (False,), "a causal decoder")
    r.only("add_cross_attention", False, (False,), "cross-attention layers")
    width, heads = r.int("hidden_size", 768), r.int("num_attention_heads", 12)
    if width % heads:
        raise r.fail(f"hidden_size {width} is not a multiple of num_attention_heads {heads}",
                     "transformers refuses this config too")
    act = r.activation("hidden_act", "gelu")
    eps = r.float("layer_norm_eps", 1e-12)
    # GELUActivation holds F.gelu (call: bound, as specs/bert_base.yaml explains)
    gelu = "gelu: {call: bound}" if act == "gelu" else act
    variables = {"T": r.int("max_position_embeddings", 512) - (2 if family == "roberta" else 0),
                 "vocab": r.int("vocab_size", 50265 if family == "roberta" else 30522),
                 "max_positions": r.int("max_position_embeddings", 512), "type_vocab": r.int("type_vocab_size", 2),
                 "width": width, "depth": r.int("num_hidden_layers", 12), "heads": heads,
                 "ffn": r.int("intermediate_size", 3072)}
    note = ("RoBERTa's position table has padding_idx + 1 = 2 rows more than its longest sequence.\n"
            if family == "roberta" else "")
    return header(f"{family} ({model} with its pooler)", r, model,
                  note + "The token-type ids have the token ids' shape; `from: input` reads the network input.") + f"""\
name: {family}
variables: {_variables(variables)}
symbols: [T]
input: [T]
layout: sequence

blocks:
  layer:
    description: post-norm self-attention and MLP, each in a residual followed by a LayerNorm.
    layers:
      - residual:
          body:
            - multihead_attention: {{name: attention, num_heads: heads, qkv: separate, call: explicit}}
            - dropout: {{p: 0.1}}
      - layernorm: {{name: attention_norm, normalized_shape: width, eps: {eps}}}
      - residual:
          body:
            - linear: {{name: intermediate, out_features: ffn}}
            - {gelu}
            - linear: {{name: output, out_features: width}}
            - dropout: {{p: 0.1}}
      - layernorm: {{name: output_norm, normalized_shape: width, eps: {eps}}}

layers:
  - embedding: {{name: word_embeddings, num_embeddings: vocab, embedding_dim: width}}
  - embedding: {{name: token_type_embeddings, num_embeddings: type_vocab, embedding_dim: width, from: input}}
  - add: {{inputs: [word_embeddings, token_type_embeddings]}}
  - positional_embedding: {{name: position_embeddings, max_positions: max_positions}}
  - layernorm: {{name: embeddings_norm, normalized_shape: width, eps: {eps}}}
  - dropout: {{p: 0.1}}
  - layer: {{name: encoder, repeat: depth}}
  - select: {{name: first_token, dim: 1, index: 0}}
  - linear: {{name: pooler, out_features: width}}
  - tanh
"""


def bert(config: Config, source: str) -> str:
    return _bert_like(config, source, "bert", "BertModel")


def roberta(config: Config, source: str) -> str:
    return _bert_like(config, source, "roberta", "RobertaModel")


def distilbert(config: Config, source: str) -> str:
    r = Reader(config, source, "distilbert")
    width, heads = r.int("dim", 768), r.int("n_heads", 12)
    if width % heads:
        raise r.fail(f"dim {width} is not a multiple of n_heads {heads}", "transformers refuses this config too")
    act = r.activation("activation", "gelu")
    variables = {"T": r.int("max_position_embeddings", 512), "vocab": r.int("vocab_size", 30522),
                 "max_positions": r.int("max_position_embeddings", 512), "width": width,
                 "depth": r.int("n_layers", 6), "heads": heads, "ffn": r.int("hidden_dim", 3072)}
    return header("distilbert (DistilBertModel: no pooler)", r, "DistilBertModel",
                  "Sinusoidal or learned, the position table is an nn.Embedding's weight.") + f"""\
name: distilbert
variables: {_variables(variables)}
symbols: [T]
input: [T]
layout: sequence

blocks:
  transformer_block:
    description: post-norm self-attention and MLP, each in a residual followed by a LayerNorm.
    layers:
      - residual:
          body:
            - multihead_attention: {{name: attention, num_heads: heads, qkv: separate, call: explicit}}
      - layernorm: {{name: sa_layer_norm, normalized_shape: width, eps: 1.0e-12}}
      - residual:
          body:
            - linear: {{name: lin1, out_features: ffn}}
            - {act}
            - linear: {{name: lin2, out_features: width}}
            - dropout: {{p: 0.1}}
      - layernorm: {{name: output_layer_norm, normalized_shape: width, eps: 1.0e-12}}

layers:
  - embedding: {{name: word_embeddings, num_embeddings: vocab, embedding_dim: width}}
  - positional_embedding: {{name: position_embeddings, max_positions: max_positions}}
  - layernorm: {{name: embeddings_norm, normalized_shape: width, eps: 1.0e-12}}
  - dropout: {{p: 0.1}}
  - transformer_block: {{name: transformer, repeat: depth}}
"""


# ------------------------------------------------------------------ ViT

def vit(config: Config, source: str) -> str:
    r = Reader(config, source, "vit")
    image, patch = r.int("image_size", 224), r.int("patch_size", 16)
    width, heads = r.int("hidden_size", 768), r.int("num_attention_heads", 12)
    if width % heads:
        raise r.fail(f"hidden_size {width} is not a multiple of num_attention_heads {heads}",
                     "transformers refuses this config too")
    if image % patch:
        raise r.fail(f"image_size {image} is not a multiple of patch_size {patch}",
                     "ViT's patch grid needs whole patches")
    act = r.activation("hidden_act", "gelu")
    # ViTForImageClassification (the checkpoints' architectures): no pooler, a classifier on the class token
    classify = "ViTForImageClassification" in (r.get("architectures") or ())
    if classify:
        labels = r.get("id2label")
        classes = len(labels) if isinstance(labels, Mapping) and labels else r.int("num_labels", 2)
        model, top = "ViTForImageClassification", {"classes": classes}
        head = "  - linear: {name: classifier, out_features: classes}\n"
    else:
        model, top = "ViTModel", {"pooler_width": r.int("pooler_output_size", width)}
        head = f"  - linear: {{name: pooler, out_features: pooler_width}}\n  - {r.activation('pooler_act', 'tanh')}\n"
    qkv_bias = "true" if r.flag("qkv_bias", True) else "{q: false, k: false, v: false, out: true}"
    eps = r.float("layer_norm_eps", 1e-12)
    variables = {"image": image, "channels": r.int("num_channels", 3), "patch": patch, "width": width,
                 "depth": r.int("num_hidden_layers", 12), "heads": heads, "ffn": r.int("intermediate_size", 3072),
                 **top}
    title = "vit (ViTForImageClassification)" if classify else "vit (ViTModel with its pooler)"
    return header(title, r, model,
                  "The class token and the position table are plain parameters of ViTEmbeddings.") + f"""\
name: vit
variables: {_variables(variables)}
symbols: {{image: {{multiple_of: {patch}}}}}
input: [channels, image, image]

blocks:
  layer:
    description: pre-norm attention and MLP, each in a residual.
    layers:
      - residual:
          body:
            - layernorm: {{name: layernorm_before, normalized_shape: width, eps: {eps}}}
            - multihead_attention: {{name: attention, num_heads: heads, qkv: separate, call: explicit,
                                    bias: {qkv_bias}}}
      - residual:
          body:
            - layernorm: {{name: layernorm_after, normalized_shape: width, eps: {eps}}}
            - linear: {{name: intermediate, out_features: ffn}}
            - {act}
            - linear: {{name: output, out_features: width}}

layers:
  - conv2d: {{name: patch_embeddings, out_channels: width, kernel_size: patch, stride: patch}}
  - flatten: {{start_dim: 2}}
  - permute: {{dims: [0, 2, 1]}}
  - class_token: {{name: cls_token, call: parameter}}
  - positional_embedding: {{name: position_embeddings, call: parameter}}
  - layer: {{name: layers, repeat: depth}}
  - layernorm: {{name: layernorm, normalized_shape: width, eps: {eps}}}
  - select: {{dim: 1, index: 0}}
{head}"""


# ------------------------------------------------------------------ encoder-decoders: T5, BART, Whisper

# T5's feed_forward_proj: "ACT" (wi, act, wo) or "gated-ACT" (act(wi_0 x) * wi_1 x, then wo; T5 v1.1, FLAN-T5);
# transformers reads gated-gelu as gelu_new, the tanh approximation
_T5_PLAIN = """\
            - linear: {{name: wi, out_features: ffn, bias: false}}
            - {act}
            - linear: {{name: wo, out_features: width, bias: false}}"""
_T5_GATED = """\
            - gated_mlp: {{name: DenseReluDense, hidden_features: ffn, activation: {act}, bias: false}}"""
T5_FEED_FORWARD = {"relu": _T5_PLAIN.format(act="relu"), "gelu": _T5_PLAIN.format(act="gelu"),
                   "gated-gelu": _T5_GATED.format(act="gelu_tanh"), "gated-relu": _T5_GATED.format(act="relu"),
                   "gated-silu": _T5_GATED.format(act="silu")}


def t5(config: Config, source: str) -> str:
    r = Reader(config, source, "t5")
    proj = r.only("feed_forward_proj", "relu", tuple(T5_FEED_FORWARD), "a feed-forward the importer does not map")
    r.only("is_encoder_decoder", True, (True,), "an encoder alone is T5EncoderModel")
    tied = r.flag("tie_word_embeddings", True)
    eps = r.float("layer_norm_epsilon", 1e-6)
    depth = r.int("num_layers", 6)
    variables = {"S": 512, "T": 512, "cache": 0, "vocab": r.int("vocab_size", 32128), "width": r.int("d_model", 512),
                 "heads": r.int("num_heads", 8), "head_dim": r.int("d_kv", 64), "ffn": r.int("d_ff", 2048),
                 "encoder_depth": depth, "decoder_depth": r.int("num_decoder_layers", depth),
                 "buckets": r.int("relative_attention_num_buckets", 32)}
    attention = "num_heads: heads, head_dim: head_dim,\n" + " " * 36 + "bias: false, qkv: separate, scaling: false"
    # transformers 5 ties T5's lm_head to `shared` whatever the config says; tie_word_embeddings: false (T5 v1.1)
    # only drops the rescale of the head's input by d_model^-0.5 (T5Config.__post_init__, scale_decoder_outputs)
    head = ("  - scalar_mul: {name: lm_scale, factor: width, exponent: -1 / 2}  # d_model^-0.5\n" if tied else "") \
        + "  - linear: {name: lm_head, out_features: vocab, bias: false, tied_to: shared}\n"
    return header("t5 (T5ForConditionalGeneration)", r, "T5ForConditionalGeneration",
                  "transformers 5 ties lm_head to the shared embedding even for tie_word_embeddings: false.\n"
                  "A decode step: --set T=1 --set cache=n (the decoder block's subtotal is the step).") + f"""\
name: t5
variables: {_variables(variables)}
symbols: [S, T, cache]
layout: sequence
inputs: {{input_ids: [S], decoder_input_ids: [T]}}
blocks:
  feed_forward:
    layers:
      - residual:
          body:
            - rmsnorm: {{name: layer_norm, normalized_shape: width, eps: {eps}}}
{T5_FEED_FORWARD[proj]}
  encoder_block:
    args: {{first: false}}
    layers:
      - residual:
          body:
            - rmsnorm: {{name: layer_norm, normalized_shape: width, eps: {eps}}}
            - multihead_attention: {{name: SelfAttention, {attention}, relative_buckets: buckets,
                                    relative_table: first}}
      - feed_forward: {{name: ff}}
  decoder_block:
    args: {{first: false}}
    layers:
      - residual:
          body:
            - rmsnorm: {{name: layer_norm, normalized_shape: width, eps: {eps}}}
            - multihead_attention: {{name: SelfAttention, {attention}, causal: true, cache: cache,
                                    relative_buckets: buckets, relative_table: first}}
      - residual:
          body:
            - rmsnorm: {{name: cross_layer_norm, normalized_shape: width, eps: {eps}}}
            - multihead_attention: {{name: EncDecAttention, {attention}, kv_from: encoder, cache: cache}}
      - feed_forward: {{name: ff}}
layers:
  - embedding: {{name: shared, num_embeddings: vocab, embedding_dim: width}}
  - sequential:
      name: encoder
      layers:
        - encoder_block: {{name: block, repeat: encoder_depth, first: "i == 0"}}
        - rmsnorm: {{name: final_layer_norm, normalized_shape: width, eps: {eps}}}
  - sequential:
      name: decoder
      layers:
        - embedding: {{name: embed_tokens, num_embeddings: vocab, embedding_dim: width, tied_to: shared,
                      from: decoder_input_ids}}
        - decoder_block: {{name: block, repeat: decoder_depth, first: "i == 0"}}
        - rmsnorm: {{name: final_layer_norm, normalized_shape: width, eps: {eps}}}
{head}"""


def _seq2seq_checks(r: Reader, scaled: bool = False) -> None:
    """Options of BART-like configs that change counts and are not mapped (``scaled``: scale_embedding is)."""
    if not scaled:
        r.only("scale_embedding", False, (False,), "the embeddings times sqrt(d_model)")
    for key in ("normalize_before", "add_final_layer_norm", "add_bias_logits"):  # mBART / older BART options
        r.only(key, False, (False,), "a layout this importer does not map")
    r.only("is_encoder_decoder", True, (True,), "an encoder or decoder alone")


def _heads(r: Reader, width: int, key: str, default: int) -> int:
    heads = r.int(key, default)
    if width % heads:
        raise r.fail(f"d_model {width} is not a multiple of {key} {heads}", "transformers refuses this config too")
    return heads


def bart(config: Config, source: str) -> str:
    r = Reader(config, source, "bart")
    _seq2seq_checks(r, scaled=True)
    r.only("tie_word_embeddings", True, (True,), "an untied lm_head")
    # scale_embedding: BartScaledWordEmbedding multiplies each looked-up row by sqrt(d_model) (by 1.0 otherwise,
    # which the spec leaves out, as specs/bart_base.yaml does)
    scale = "scalar_mul: {name: embed_scale, factor: width, exponent: 1 / 2}\n" if r.flag("scale_embedding", False) \
        else ""
    scale_shared, scale_decoder = ("  - " + scale, "        - " + scale) if scale else ("", "")
    width = r.int("d_model", 1024)  # BartConfig's defaults are bart-large's
    variables = {"S": 1024, "T": 1024, "cache": 0, "vocab": r.int("vocab_size", 50265), "width": width,
                 "encoder_heads": _heads(r, width, "encoder_attention_heads", 16),
                 "decoder_heads": _heads(r, width, "decoder_attention_heads", 16),
                 "encoder_ffn": r.int("encoder_ffn_dim", 4096), "decoder_ffn": r.int("decoder_ffn_dim", 4096),
                 "encoder_depth": r.int("encoder_layers", 12), "decoder_depth": r.int("decoder_layers", 12),
                 "positions": r.int("max_position_embeddings", 1024) + 2}
    act = r.activation("activation_function", "gelu")
    return header("bart (BartForConditionalGeneration)", r, "BartForConditionalGeneration",
                  "Learned positions have an offset of 2 rows; the LM head is tied to the shared embedding, plus\n"
                  "final_logits_bias (a buffer). A decode step: --set T=1 --set cache=n.") + f"""\
name: bart
variables: {_variables(variables)}
symbols: [S, T, cache]
layout: sequence
inputs: {{input_ids: [S], decoder_input_ids: [T]}}
blocks:
  feed_forward:
    args: {{ffn: encoder_ffn}}
    layers:
      - residual:
          body:
            - linear: {{name: fc1, out_features: ffn}}
            - {act}
            - linear: {{name: fc2, out_features: width}}
      - layernorm: {{name: final_layer_norm}}
  encoder_layer:
    layers:
      - residual:
          body:
            - multihead_attention: {{name: self_attn, num_heads: encoder_heads, qkv: separate, call: explicit}}
      - layernorm: {{name: self_attn_layer_norm}}
      - feed_forward: {{name: ff, ffn: encoder_ffn}}
  decoder_layer:
    layers:
      - residual:
          body:
            - multihead_attention: {{name: self_attn, num_heads: decoder_heads, qkv: separate, causal: true,
                                    cache: cache}}
      - layernorm: {{name: self_attn_layer_norm}}
      - residual:
          body:
            - multihead_attention: {{name: encoder_attn, num_heads: decoder_heads, qkv: separate, kv_from: encoder,
                                    cache: cache}}
      - layernorm: {{name: encoder_attn_layer_norm}}
      - feed_forward: {{name: ff, ffn: decoder_ffn}}
layers:
  - embedding: {{name: shared, num_embeddings: vocab, embedding_dim: width}}
{scale_shared}  - sequential:
      name: encoder
      layers:
        - positional_embedding: {{name: embed_positions, max_positions: positions}}
        - layernorm: {{name: layernorm_embedding}}
        - encoder_layer: {{name: layers, repeat: encoder_depth}}
  - sequential:
      name: decoder
      layers:
        - embedding: {{name: embed_tokens, num_embeddings: vocab, embedding_dim: width, tied_to: shared,
                      from: decoder_input_ids}}
{scale_decoder}        - positional_embedding: {{name: embed_positions, max_positions: positions}}
        - layernorm: {{name: layernorm_embedding}}
        - decoder_layer: {{name: layers, repeat: decoder_depth}}
  - linear: {{name: lm_head, out_features: vocab, bias: false, tied_to: shared}}
  - bias_add: {{name: final_logits_bias, buffer: true}}
"""


def whisper(config: Config, source: str) -> str:
    r = Reader(config, source, "whisper")
    _seq2seq_checks(r)
    r.only("tie_word_embeddings", True, (True,), "an untied proj_out")
    width = r.int("d_model", 384)
    positions = r.int("max_source_positions", 1500)
    variables = {"T": r.int("max_target_positions", 448), "cache": 0, "frames": 2 * positions,
                 "mels": r.int("num_mel_bins", 80), "vocab": r.int("vocab_size", 51865), "width": width,
                 "encoder_heads": _heads(r, width, "encoder_attention_heads", 6),
                 "decoder_heads": _heads(r, width, "decoder_attention_heads", 6),
                 "encoder_ffn": r.int("encoder_ffn_dim", 1536), "decoder_ffn": r.int("decoder_ffn_dim", 1536),
                 "encoder_depth": r.int("encoder_layers", 4), "decoder_depth": r.int("decoder_layers", 4),
                 "source_positions": positions, "target_positions": r.int("max_target_positions", 448)}
    act = r.activation("activation_function", "gelu")
    bias = "bias: {q: true, k: false, v: true, out: true}"
    return header("whisper (WhisperForConditionalGeneration)", r, "WhisperForConditionalGeneration",
                  "The encoder takes exactly 2 x max_source_positions mel frames (30 s of audio); no bias on k_proj;\n"
                  "proj_out is tied to the token embedding. A decode step: --set T=1 --set cache=n.") + f"""\
name: whisper
variables: {_variables(variables)}
symbols: [T, cache]
inputs: {{input_features: [mels, frames], decoder_input_ids: [T]}}
blocks:
  feed_forward:
    args: {{ffn: encoder_ffn}}
    layers:
      - residual:
          body:
            - layernorm: {{name: final_layer_norm}}
            - linear: {{name: fc1, out_features: ffn}}
            - {act}
            - linear: {{name: fc2, out_features: width}}
  encoder_layer:
    layers:
      - residual:
          body:
            - layernorm: {{name: self_attn_layer_norm}}
            - multihead_attention: {{name: self_attn, num_heads: encoder_heads, qkv: separate, call: explicit,
                                    {bias}}}
      - feed_forward: {{name: ff, ffn: encoder_ffn}}
  decoder_layer:
    layers:
      - residual:
          body:
            - layernorm: {{name: self_attn_layer_norm}}
            - multihead_attention: {{name: self_attn, num_heads: decoder_heads, qkv: separate, causal: true,
                                    cache: cache, {bias}}}
      - residual:
          body:
            - layernorm: {{name: encoder_attn_layer_norm}}
            - multihead_attention: {{name: encoder_attn, num_heads: decoder_heads, qkv: separate, kv_from: encoder,
                                    cache: cache, {bias}}}
      - feed_forward: {{name: ff, ffn: decoder_ffn}}
layers:
  - sequential:
      name: encoder
      layers:
        - conv1d: {{name: conv1, out_channels: width, kernel_size: 3, padding: 1}}
        - {act}
        - conv1d: {{name: conv2, out_channels: width, kernel_size: 3, stride: 2, padding: 1}}
        - {act}
        - permute: {{dims: [0, 2, 1]}}
        - positional_embedding: {{name: embed_positions, max_positions: source_positions}}
        - encoder_layer: {{name: layers, repeat: encoder_depth}}
        - layernorm: {{name: layer_norm}}
  - sequential:
      name: decoder
      layers:
        - embedding: {{name: embed_tokens, num_embeddings: vocab, embedding_dim: width, from: decoder_input_ids}}
        - positional_embedding: {{name: embed_positions, max_positions: target_positions}}
        - decoder_layer: {{name: layers, repeat: decoder_depth}}
        - layernorm: {{name: layer_norm}}
  - linear: {{name: proj_out, out_features: vocab, bias: false, tied_to: embed_tokens}}
"""


FAMILIES: dict[str, Callable[[Config, str], str]] = {
    "bert": bert, "roberta": roberta, "distilbert": distilbert, "vit": vit,
    "t5": t5, "bart": bart, "whisper": whisper,
}
