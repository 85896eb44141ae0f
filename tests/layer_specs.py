"""Small specs that use every layer type and option, shared by tests/test_export.py (every spec: exported, run by
torch, measured against archcalc), tests/test_peers.py (the specs in PEERS: every tool against its preset),
tests/test_catalogue.py (the validators and the JSON schema) and tests/test_registry.py (each layer type is in one
of them). One forward pass of each is microseconds.

A spec is in PEERS unless the presets do not describe it, or a tool could not see all of it: in the specs of
PEERS every layer's output reaches the network's output (fvcore counts from a JIT trace, which drops dead code).
Left out, and why:
- pools_2d, keras_channels_last: Keras' "same" pooling (exported with F.pad or a helper function);
- upsample_fractional: fractional upsampling factors, under ptflops;
- products_broadcast: broadcast matmuls and non-bmm einsums, under fvcore, and outputs that reach nothing;
- merges_from_saved, tied_embedding: tensors saved or read back (`save:`, `from:`) whose layers reach nothing;
- cross_attention: two network inputs (`inputs:`), where the tool harness feeds one.
merges_from_saved and upsample_fractional hold only what merges and upsample (which they would repeat) do not.
"""
from __future__ import annotations

SPECS: dict[str, str] = {
    "conv1d": """
input: [4, 17]
layers:
  - conv1d: {out_channels: 6, kernel_size: 4, stride: 2, padding: same}   # Keras' rule: 3 padded, the odd one after
  - conv1d: {out_channels: 6, kernel_size: 3, dilation: 2, groups: 2, bias: false, padding: same, padding_mode: reflect}
  - conv1d: {out_channels: 4, kernel_size: 3, padding: valid}
  - conv_transpose1d: {out_channels: 2, kernel_size: 5, stride: 3, output_padding: 2}
""",
    "conv2d": """
input: [3, 15, 12]
layers:
  - conv2d: {out_channels: 8, kernel_size: [3, 5], stride: [2, 1], padding: [1, 2], dilation: [1, 2]}
  - conv2d: {out_channels: 8, kernel_size: 3, stride: 2, padding: same, groups: 8}
  - conv2d: {out_channels: 8, kernel_size: 5, stride: 2, padding: same}      # an even total: symmetric padding
  - conv2d: {out_channels: 4, kernel_size: 2, padding: same, padding_mode: circular}
  - conv_transpose2d: {out_channels: 6, kernel_size: [3, 4], stride: [2, 3], padding: [1, 0], output_padding: [1, 2],
                       groups: 2, bias: false}
  - conv_transpose2d: {out_channels: 3, kernel_size: 3, dilation: 2}
""",
    "conv3d": """
input: [2, 6, 7, 8]
batch: 2
layers:
  - conv3d: {out_channels: 4, kernel_size: 3, padding: 1, stride: [1, 2, 2]}
  - conv_transpose3d: {out_channels: 4, kernel_size: 3, stride: 2, padding: 1, output_padding: 1, groups: 2}
""",
    "conv_transpose": """
input: [4, 5, 6]
layers:
  - conv_transpose2d: {out_channels: 6, kernel_size: [3, 4], stride: [2, 3], padding: [1, 0], output_padding: [1, 2],
                       groups: 2, bias: false}
  - conv_transpose2d: {out_channels: 3, kernel_size: 3, dilation: 2}
  - flatten: {start_dim: 2}
  - conv_transpose1d: {out_channels: 2, kernel_size: 5, stride: 3, output_padding: 2}
""",
    "pools": """
input: [3, 20]
batch: 2
layers:
  - maxpool1d: {kernel_size: 3, stride: 2, padding: 1, dilation: 2, ceil_mode: true}
  - avgpool1d: {kernel_size: 3, stride: 2, padding: 1, count_include_pad: false, ceil_mode: true}
  - avgpool1d: {kernel_size: 2, padding: 1, divisor_override: 3}
  - adaptive_maxpool1d: {output_size: 3}
  - adaptive_avgpool1d: {output_size: 2}
  - global_maxpool: {keepdims: true}
  - upsample: {size: 15}
  - reshape: {shape: [3, 5, 3]}
  - avgpool2d: {kernel_size: 2, stride: 1, padding: 1, divisor_override: 3, ceil_mode: true}
  - maxpool2d: {kernel_size: 2, padding: valid}
  - adaptive_maxpool2d: {output_size: [3, null]}
  - adaptive_avgpool2d: {output_size: 2}
  - global_avgpool: {keepdims: true}
  - reshape: {shape: [3, 1, 1, 1]}
  - upsample: {scale_factor: 4}
  - maxpool3d: {kernel_size: 2}
  - avgpool3d: {kernel_size: [1, 2, 2], padding: [0, 1, 1], count_include_pad: false}
  - adaptive_maxpool3d: {output_size: [2, 2, 3]}
  - adaptive_avgpool3d: {output_size: 1}
  - global_avgpool
""",
    "pools_2d": """
input: [2, 13, 11]
batch: 2
layers:
  - maxpool2d: {kernel_size: 3, stride: 2, padding: same}
  - avgpool2d: {kernel_size: [2, 3], stride: 2, padding: same}
  - avgpool2d: {kernel_size: 2, stride: 1, padding: 1, divisor_override: 3, ceil_mode: true}
  - avgpool2d: {kernel_size: 2, padding: same, divisor_override: 2}
  - maxpool2d: {kernel_size: 2, padding: valid}
  - adaptive_maxpool2d: {output_size: [3, null]}
  - adaptive_avgpool2d: {output_size: 2}
  - global_maxpool: {keepdims: true}
  - global_avgpool
""",
    "pools_3d": """
input: [2, 6, 7, 9]
layers:
  - maxpool3d: {kernel_size: 2}
  - avgpool3d: {kernel_size: [1, 2, 2], padding: [0, 1, 1], count_include_pad: false}
  - adaptive_maxpool3d: {output_size: [2, 2, 3]}
  - adaptive_avgpool3d: {output_size: 1}
""",
    "norms": """
input: [4, 6, 5]
layers:
  - batchnorm2d: {eps: 1.0e-3, momentum: 0.01}
  - batchnorm2d: {affine: false, num_batches_tracked: false}
  - batchnorm2d: {track_running_stats: false}
  - instancenorm2d: {affine: true, track_running_stats: true}
  - instancenorm2d
  - groupnorm: {num_groups: 2, eps: 1.0e-6}
  - groupnorm: {num_groups: 4, affine: false}
  - layernorm: {normalized_shape: [6, 5], bias: false}
  - layernorm: {normalized_shape: 5, elementwise_affine: false}
  - rmsnorm: {normalized_shape: 5, eps: 1.0e-6}
  - rmsnorm: {normalized_shape: [6, 5], elementwise_affine: false}
  - flatten
  - batchnorm1d
  - reshape: {shape: [8, 15]}
  - instancenorm1d
  - dropout1d
  - batchnorm
  - reshape: {shape: [3, 2, 4, 5]}
  - dropout3d
  - batchnorm3d
  - instancenorm3d: {affine: true}
""",
    "norms_any_rank": """
input: [3, 8]
layers:
  - batchnorm1d
  - instancenorm1d
  - batchnorm
  - flatten
  - batchnorm
  - reshape: {shape: [3, 2, 2, 2]}
  - batchnorm3d
  - instancenorm3d: {affine: true}
  - batchnorm: {momentum: null}
  - reshape: {shape: [3, 2, 2, 2, 1]}
  - batchnorm
""",
    "activations": """
input: [4, 6]
batch: 2
layers:
  [relu, relu6, sigmoid, tanh, silu, hardswish, hardsigmoid, {leaky_relu: {negative_slope: 0.2}},
   {elu: {alpha: 0.5}}, gelu, {gelu: {approximate: tanh}}, {softmax: {dim: 1}}, softmax, {softmax: {dim: -2}}]
""",
    "dropout": """
input: [4, 6, 5]
layers:
  - dropout: {p: 0.3}
  - dropout2d: {p: 0.1}
  - stochastic_depth: {p: 0.2, mode: batch}
  - stochastic_depth: {p: 0.2}
  - flatten: {start_dim: 2}
  - dropout1d
  - reshape: {shape: [4, 2, 3, 5]}
  - dropout3d
  - identity
""",
    "moving_data": """
input: [8, 6, 4]
layers:
  - channel_shuffle: {groups: 4}
  - chunk: {chunks: 3, index: 2, dim: 1}
  - pad: {padding: [[1, 2], 0], mode: reflect}
  - pad: {padding: 1, value: 0.5}
  - pad: {padding: [1, [0, 2]], mode: replicate}
  - dropout2d: {p: 0.1}
  - stochastic_depth: {p: 0.2}
  - crop: {size: [5, 4]}
  - crop: {margin: [1, 0]}
  - scale: {dim: 1, bias: true}
  - permute: {dims: [0, 2, 3, 1]}
  - scale: {dim: -1}
  - dropout: {p: 0.3}
  - select: {dim: 2, index: -1}
  - reshape: {shape: [-1, 2]}
  - flatten: {start_dim: 1, end_dim: 2}
  - identity
""",
    "pixel_shuffle": """
input: [3, 12, 10]
batch: 2
layers:
  - conv2d: {out_channels: 18, kernel_size: 3, padding: 1}
  - pixel_shuffle: {upscale_factor: 3}
  - conv2d: {out_channels: 8, kernel_size: 3, padding: 1}
  - pixel_unshuffle: {downscale_factor: 2}
  - conv2d: {out_channels: 4, kernel_size: 1}
  - pixel_shuffle: {upscale_factor: 1}
""",
    "pixel_shuffle_channels_last": """
layout: channels_last
input: [8, 6, 4]
layers:
  - pixel_unshuffle: {downscale_factor: 2}
  - conv2d: {out_channels: 12, kernel_size: 3, padding: 1}
  - pixel_shuffle: {upscale_factor: 2}
""",
    "upsample": """
input: [2, 5, 6]
layers:
  - upsample: {scale_factor: 2}
  - upsample: {size: [12, 14], mode: bilinear, align_corners: true}
  - upsample: {size: [7, 9], mode: bicubic}
  - upsample: {size: [4, 3], mode: nearest-exact}
  - flatten: {start_dim: 2}
  - upsample: {scale_factor: 3, mode: linear}
  - reshape: {shape: [2, 3, 4, 3]}
  - upsample: {size: [4, 3, 6], mode: trilinear}
""",
    "upsample_fractional": """
input: [2, 5, 6]
layers:
  - upsample: {scale_factor: 2}
  - upsample: {scale_factor: [1.5, 2], mode: bilinear, align_corners: true}
  - upsample: {size: [7, 9], mode: bicubic}
  - upsample: {scale_factor: 0.5, mode: nearest-exact}
""",
    "merges": """
input: [4, 3, 3]
batch: 2
layers:
  - identity: {name: x0}
  - global_avgpool: {name: g}
  - linear: {name: v, out_features: 3}
  - add: {name: broadcast, inputs: [x0, v]}
  - global_maxpool: {name: gm, keepdims: true, from: x0}
  - mul: {name: gated, inputs: [broadcast, gm, gm]}
  - concat: {inputs: [., x0], dim: 2}
  - concat: {inputs: [., .], dim: -1}
  - conv2d: {out_channels: 4, kernel_size: 1}
  - parallel:
      branches:
        a: [{conv2d: {out_channels: 2, kernel_size: 1}}]
        b: []
      merge: {concat: {dim: 1}}
  - residual:
      body: [{conv2d: {out_channels: 6, kernel_size: 3, padding: 1}}]
      shortcut: [{conv2d: {out_channels: 6, kernel_size: 1}}]
  - parallel:
      branches: [[sigmoid], [tanh]]
      merge: mul
""",
    "merges_from_saved": """
input: [4, 3, 3]
batch: 2
layers:
  - identity: {name: x0}
  - concat: {inputs: [., x0], dim: 2}
  - concat: {inputs: [., .], dim: -1, save: wide}
  - conv2d: {out_channels: 4, kernel_size: 1, from: input, save: c}
  - add: {inputs: [c, x0, c]}
""",
    "products": """
input: [3, 4, 5]
batch: 2
layers:
  - identity: {name: a}
  - linear: {name: q, out_features: 8}
  - linear: {name: k, out_features: 8, from: a}
  - matmul: {name: scores, inputs: [q, k], transpose_b: true}
  - matmul: {name: mixed, inputs: [scores, a]}
  - select: {name: row, dim: 1, index: 0}
  - einsum: {name: gram, equation: "ij,ik->jk", inputs: [row, row]}
  - einsum: {name: back, equation: "ij,kj->ki", inputs: [gram, row]}
  - select: {name: vec, dim: 1, index: 0}
  - matmul: {name: mat_vec, inputs: [back, vec]}
""",
    "products_broadcast": """
input: [3, 4, 5]
batch: 2
layers:
  - identity: {name: a}
  - linear: {name: q, out_features: 8}
  - linear: {name: k, out_features: 8, from: a}
  - matmul: {name: scores, inputs: [q, k], transpose_b: true}
  - matmul: {name: mixed, inputs: [scores, a]}
  - select: {name: row, dim: 1, index: 0, from: a}
  - select: {name: vec, dim: 1, index: 0}
  - matmul: {name: mat_vec, inputs: [a, vec]}
  - matmul: {name: vec_mat, inputs: [vec, row], transpose_b: true}
  - matmul: {name: dot, inputs: [vec, vec]}
  - reshape: {name: a4, shape: [1, 3, 4, 5], from: a}
  - permute: {name: column, dims: [0, 2, 1], from: row}
  - matmul: {name: lead_broadcast, inputs: [a4, column]}
  - einsum: {name: heads, equation: "hqd,hkd->hqk", inputs: [q, k]}
  - einsum: {name: implicit, equation: "ij,jk", inputs: [row, column]}
  - einsum: {name: batched, equation: "...ij,jk->...ik", inputs: [a, column]}
  - einsum: {name: outer, equation: "i,j->ij", inputs: [vec, vec]}
  - einsum: {name: reduce, equation: "hij->h", inputs: [a]}
  - einsum: {name: hadamard_sum, equation: "ij,ij->i", inputs: [row, row]}
""",
    "tokens": """
input: [6]
batch: 2
layers:
  - embedding: {name: wte, num_embeddings: 50, embedding_dim: 8, padding_idx: 0}
  - linear: {name: proj, out_features: 8, bias: false}
  - embedding: {name: again, num_embeddings: 8, embedding_dim: 8, tied_to: proj, from: input}
  - add: {inputs: [proj, again]}
  - positional_embedding: {max_positions: 10}
  - class_token: {tokens: 2}
  - positional_embedding
  - linear: {name: head, out_features: 50, bias: false, tied_to: wte}
""",
    "tied_embedding": """
input: [5]
layers:
  - embedding: {name: emb, num_embeddings: 12, embedding_dim: 12}
  - linear: {name: proj, out_features: 12, bias: false}
  - embedding: {name: again, num_embeddings: 12, embedding_dim: 12, tied_to: proj, from: input}
""",
    "attention": """
variables: {T: 6, d: 32}
input: [T, d]
batch: 2
layers:
  - multihead_attention: {num_heads: 4}
  - multihead_attention: {num_heads: 4, kv_heads: 2, head_dim: 6, qkv: separate, bias: false, causal: true,
                          rotary: true}
  - multihead_attention: {num_heads: 4, kv_heads: 1, causal: true, window: 3}
  - multihead_attention: {num_heads: 2, out_proj: false, causal: true, cache: 5, window: 4}
  - multihead_attention: {num_heads: 2, cache: 3}
  - linear: {out_features: 40}
  - scaled_dot_product_attention: {num_heads: 2, kv_heads: 1, head_dim: 10, causal: true, cache: 3}
  - linear: {out_features: 36}
  - scaled_dot_product_attention: {num_heads: 2, head_dim: 6}
  - linear: {out_features: 12}
  - scaled_dot_product_attention: {num_heads: 1, head_dim: 4, causal: true, window: 2}
""",
    "attention_odd_heads": """
input: [5, 12]
batch: 2
layers:
  - multihead_attention: {num_heads: 3}
  - multihead_attention: {num_heads: 1}
""",
    "decode_step": """
variables: {T: 1, d: 32}
input: [T, d]
layers:
  - multihead_attention: {num_heads: 4, kv_heads: 2, qkv: separate, bias: false, causal: true, cache: 9, rotary: true}
  - multihead_attention: {num_heads: 4, causal: true, cache: 9, window: 4}
""",
    "mlps": """
input: [5, 12]
batch: 2
layers:
  - gated_mlp: {hidden_features: 20}
  - gated_mlp: {hidden_features: 20, activation: gelu_tanh, bias: true, out_features: 8}
  - gated_mlp: {hidden_features: 16, gated: false, activation: relu}
  - gated_mlp: {hidden_features: 16, activation: gelu}
  - moe: {experts: 4, top_k: 2, hidden_features: 10}
  - moe: {experts: 3, top_k: 1, hidden_features: 6, gated: false, activation: gelu, bias: true, out_features: 4}
""",
    "recurrent": """
input: [7, 6]
batch: 2
layers:
  - lstm: {hidden_size: 8, num_layers: 2, bidirectional: true, proj_size: 3, dropout: 0.2}
  - gru: {hidden_size: 5, bias: false}
  - rnn: {hidden_size: 4, nonlinearity: relu, num_layers: 2, bidirectional: true}
  - gru: {hidden_size: 3, num_layers: 2, bidirectional: true}
  - lstm: {hidden_size: 3}
""",
    "names": """
input: [4]
layers:
  - linear: {name: to, out_features: 4}
  - linear: {name: x, out_features: 4}
  - linear: {name: self, out_features: 4}
  - linear: {name: "0", out_features: 4}
  - residual:
      name: training
      body: [{linear: {name: forward, out_features: 4}}, {relu: {name: torch}}]
  - linear: {name: eval, out_features: 4, from: to}
  - add: {inputs: [x, self, "0", training, eval]}
""",
    "channels_last": """
layout: channels_last
input: [12, 10, 3]
layers:
  - conv2d: {out_channels: 8, kernel_size: 3, stride: 2, padding: 1}
  - batchnorm2d
  - relu
  - conv_transpose2d: {out_channels: 4, kernel_size: 2, stride: 2}
  - softmax: {dim: 1}
""",
    "keras_convolutions": """
layout: channels_last
input: [12, 10, 3]
layers:
  - DepthwiseConv2D: {kernel_size: 3, depth_multiplier: 2, padding: same}
  - SeparableConv2D: {filters: 6, kernel_size: 3, strides: 2}
  - ReLU: {max_value: 4}
  - Cropping2D: {cropping: [[1, 0], [0, 2]]}
  - Conv2DTranspose: {filters: 4, kernel_size: 3, strides: 2, padding: same}
  - Conv2DTranspose: {filters: 3, kernel_size: 2, strides: 3}
  - Conv2DTranspose: {filters: 2, kernel_size: 4, strides: 2, padding: same, output_padding: 1}
  - LayerNormalization
""",
    "keras_sequences": """
layout: channels_last
input: [16, 3]
layers:
  - Conv1D: {filters: 4, kernel_size: 3, padding: causal, dilation_rate: 2}
  - Bidirectional: {layer: {LSTM: {units: 5, return_sequences: true}}}
  - SimpleRNN: {units: 4, return_sequences: true}
  - GRU: {units: 3, return_sequences: true}
  - LSTM: {units: 3}
""",
    "keras_channels_last": """
layout: channels_last
input: [12, 12, 3]
layers:
  - Conv2D: {filters: 8, kernel_size: 3, strides: 2, padding: same, activation: relu}
  - BatchNormalization
  - MaxPooling2D: {pool_size: 2, padding: same}
  - AveragePooling2D: {pool_size: 2, strides: 1, padding: same}
  - UpSampling2D: {size: 2}
  - Conv2DTranspose: {filters: 4, kernel_size: 2, strides: 2}
  - ZeroPadding2D: {padding: 1}
""",
    "keras_dense": """
layout: channels_last
input: [8, 8, 1]
layers:
  - Conv2D: {filters: 4, kernel_size: 3, activation: relu}
  - Flatten
  - Dropout: {rate: 0.5}
  - Dense: {units: 10, activation: softmax}
""",
    "keras_mobile": """
layout: channels_last
input: [16, 16, 3]
layers:
  - Conv2D: {filters: 8, kernel_size: 3, strides: 2, padding: same, use_bias: false}
  - BatchNormalization: {center: false, scale: false}
  - ReLU: {max_value: 6}
  - DepthwiseConv2D: {kernel_size: 3, padding: same, depth_multiplier: 2}
  - ReLU: {max_value: 4}
  - SeparableConv2D: {filters: 12, kernel_size: 3, strides: 2, activation: swish}
  - SpatialDropout2D: {rate: 0.1}
  - Cropping2D: {cropping: [[1, 0], [0, 1]]}
  - ZeroPadding2D: {padding: [[0, 1], [2, 0]]}
  - Permute: {dims: [2, 1, 3]}
  - Reshape: {target_shape: [-1, 6]}
  - LayerNormalization: {center: false}
  - Dense: {units: 5}
  - Flatten
  - Dense: {units: 3}
""",
    "keras_1d": """
layout: channels_last
input: [30, 4]
layers:
  - Conv1D: {filters: 6, kernel_size: 3, padding: causal, dilation_rate: 2}
  - Conv1D: {filters: 6, kernel_size: 4, strides: 2, padding: causal}
  - DepthwiseConv1D: {kernel_size: 3, depth_multiplier: 2, padding: same}
  - SeparableConv1D: {filters: 5, kernel_size: 3}
  - Cropping1D: {cropping: [2, 1]}
  - ZeroPadding1D: {padding: [0, 3]}
  - UpSampling1D: {size: 3}
  - Conv1DTranspose: {filters: 3, kernel_size: 3, strides: 2, padding: same}
  - GlobalAveragePooling1D
""",
    "keras_transpose": """
layout: channels_last
input: [5, 6, 2]
layers:
  - Conv2DTranspose: {filters: 3, kernel_size: 3, strides: 2, padding: same}
  - Conv2DTranspose: {filters: 3, kernel_size: [2, 3], strides: [3, 2], padding: valid}
  - Conv2DTranspose: {filters: 2, kernel_size: 4, strides: 2, padding: same, output_padding: 1}
  - Conv2DTranspose: {filters: 2, kernel_size: 3, strides: 3, padding: valid, output_padding: [2, 0]}
  - Conv2DTranspose: {filters: 2, kernel_size: 3, dilation_rate: 2, padding: same}
""",
    "keras_recurrent": """
layout: channels_last
input: [9]
layers:
  - Embedding: {input_dim: 40, output_dim: 6}
  - LSTM: {units: 5, return_sequences: true}
  - GRU: {units: 4, return_sequences: true}
  - Bidirectional: {layer: {LSTM: {units: 3, return_sequences: true}}}
  - TimeDistributed: {layer: {Dense: {units: 4, activation: relu}}}
  - SimpleRNN: {units: 3, return_sequences: true, activation: relu}
  - Bidirectional: {layer: {GRU: {units: 2}}}
  - Dense: {units: 2, activation: softmax}
""",
    "keras_time_distributed": """
layout: channels_last
input: [3, 8, 8, 2]
layers:
  - TimeDistributed: {layer: {Conv2D: {filters: 4, kernel_size: 3, strides: 2, padding: same}}}
  - TimeDistributed: {layer: {MaxPooling2D: {pool_size: 2}}}
  - TimeDistributed: {layer: BatchNormalization}
  - TimeDistributed: {layer: Flatten}
  - LSTM: {units: 4}
""",
    # the forms a layer's `call` names besides the default, batched (ptflops divides module counts, not functions')
    "activation_functions": """
input: [4, 6]
batch: 2
layers:
  - relu: {call: function}
  - relu6: {call: function}
  - sigmoid: {call: function}
  - tanh: {call: function}
  - silu: {call: function}
  - hardswish: {call: function}
  - hardsigmoid: {call: function}
  - leaky_relu: {negative_slope: 0.2, call: function}
  - elu: {alpha: 0.5, call: function}
  - gelu: {call: function}
  - gelu: {approximate: tanh, call: function}
  - hardtanh: {min_val: -2, max_val: 2, call: function}
  - softmax: {dim: 1, call: function}
  - softmax: {call: function}
  - relu6  # the modules again, between functions
  - leaky_relu
  - softmax: {dim: -2}
  - relu: {call: bound}
  - relu6: {call: bound}
  - sigmoid: {call: bound}
  - tanh: {call: bound}
  - silu: {call: bound}
  - hardswish: {call: bound}
  - hardsigmoid: {call: bound}
  - leaky_relu: {negative_slope: 0.3, call: bound}
  - elu: {call: bound}
  - gelu: {call: bound}
  - gelu: {approximate: tanh, call: bound}
  - hardtanh: {call: bound}
  - softmax: {dim: 1, call: bound}
""",
    "pool_functions": """
input: [3, 20]
batch: 2
layers:
  - maxpool1d: {kernel_size: 3, stride: 2, padding: 1, dilation: 2, ceil_mode: true, call: function}
  - avgpool1d: {kernel_size: 3, stride: 2, padding: 1, count_include_pad: false, ceil_mode: true, call: function}
  - avgpool1d: {kernel_size: 2, padding: 1, divisor_override: 3, call: function}
  - adaptive_maxpool1d: {output_size: 3, call: function}
  - adaptive_avgpool1d: {output_size: 2, call: function}
  - global_maxpool: {keepdims: true, call: function}
  - upsample: {size: 15, call: function}
  - global_avgpool: {keepdims: true, call: reduction}
  - upsample: {scale_factor: 12, call: function}
  - reshape: {shape: [3, 4, 3]}
  - avgpool2d: {kernel_size: 2, stride: 1, padding: 1, divisor_override: 3, ceil_mode: true, call: function}
  - maxpool2d: {kernel_size: 2, padding: valid, call: function}
  - adaptive_maxpool2d: {output_size: [3, null], call: function}
  - adaptive_avgpool2d: {output_size: 2, call: function}
  - global_maxpool: {keepdims: true, call: reduction}
  - upsample: {size: [5, 6], mode: bilinear, call: function}
  - global_avgpool: {keepdims: true, call: function}
  - reshape: {shape: [3, 1, 1, 1]}
  - upsample: {scale_factor: 4, call: function}
  - maxpool3d: {kernel_size: 2, call: function}
  - avgpool3d: {kernel_size: [1, 2, 2], padding: [0, 1, 1], count_include_pad: false, call: function}
  - upsample: {size: [4, 3, 6], mode: trilinear, call: function}
  - adaptive_maxpool3d: {output_size: [2, 2, 3], call: function}
  - adaptive_avgpool3d: {output_size: 1, call: function}
  - reshape: {shape: [3, 1, 1, 1, 1]}
  - global_avgpool: {call: reduction}  # four spatial axes: a reduction is the only form
""",
    "more_functions": """
input: [4, 6, 5]
batch: 2
layers:
  - layernorm: {normalized_shape: [6, 5], call: function}
  - layernorm: {bias: false, call: function}
  - layernorm: {normalized_shape: 5, elementwise_affine: false, call: function}
  - upsample: {size: [7, 9], mode: bicubic, call: function}
  - upsample: {size: [4, 3], mode: nearest-exact, call: function}
  - dropout: {p: 0.3, call: function}
  - dropout2d: {p: 0.1, call: function}
  - stochastic_depth: {p: 0.2, call: module}
  - flatten: {start_dim: 2, call: module}
  - dropout1d: {call: function}
  - reshape: {shape: [4, 2, 3, 2]}
  - dropout3d: {call: function}
  - flatten: {call: module}
""",
    "parameters": """
input: [6]
batch: 2
layers:
  - embedding: {num_embeddings: 50, embedding_dim: 8}
  - positional_embedding: {max_positions: 10, call: parameter}
  - class_token: {tokens: 2, call: parameter}
  - scale: {dim: -1, bias: true, call: parameter}
  - scale: {dim: 1, call: parameter}
  - linear: {out_features: 5}
""",
    "attention_forms": """
input: [6, 32]
batch: 2
layers:
  - multihead_attention: {num_heads: 4, call: explicit}
  - multihead_attention: {num_heads: 4, qkv: separate}  # nn.MultiheadAttention by default, as qkv: fused
  - multihead_attention: {num_heads: 4, qkv: separate, call: explicit}
  - multihead_attention: {num_heads: 1, qkv: separate, call: module}  # one head: torch's slow path
""",
    "accumulated_sum": """
input: [3, 8]
layers:
  - conv1d: {name: first, out_channels: 4, kernel_size: 1, accumulate: total}
  - sequential:
      name: stack
      repeat: 2
      layers:
        - conv1d: {name: skip, out_channels: 4, kernel_size: 3, padding: 1, accumulate: total}
  - add: {inputs: [total, "."]}
""",
    "state_space": """
input: [5, 24]
batch: 2
layers:
  - mamba: {d_state: 4, d_conv: 3}
  - mamba: {expand: 1, dt_rank: 3, conv_bias: false, bias: true, state_cache: false}
""",
    "frozen_batchnorm2d": """
input: [4, 6, 5]
batch: 2
layers:
  - frozen_batchnorm2d
  - conv2d: {out_channels: 3, kernel_size: 1, bias: false}
  - frozen_batchnorm2d: {num_features: 3, eps: 0.0}
""",
    "cnn_ops": """
input: [4, 10, 8]
batch: 2
layers:
  - identity: {name: x0}
  - std_conv2d: {out_channels: 8, kernel_size: 3, padding: 1, gain: true, gamma: 1.5, eps: 1.0e-5}
  - std_conv2d: {out_channels: 8, kernel_size: 3, stride: 2, groups: 2, bias: false}
  - grn: {eps: 1.0e-5}
  - quick_gelu
  - softplus: {beta: 2, threshold: 10}
  - mish
  - parallel:
      branches: {pool: [{avgpool2d: {kernel_size: 3, stride: 1, padding: 1, count_include_pad: false}}], id: []}
      merge: sub
  - split: {split_size_or_sections: [2, 5, 1], index: 1}
  - slice: {dim: 2, step: 2}
  - slice: {dim: -1, start: 1, length: 2}
  - conv2d: {out_channels: 4, kernel_size: 1}
  - upsample: {size_of: x0, mode: bilinear}
  - sub: {inputs: [x0, .]}
""",
    "cnn_ops_functions": """
input: [3, 9]
layers:
  - quick_gelu: {call: function}
  - softplus: {call: function}
  - mish: {call: function}
  - grn
  - reshape: {shape: [3, 3, 3]}
  - permute: {dims: [0, 2, 3, 1]}
  - grn: {dim: -1}
  - permute: {dims: [0, 3, 1, 2]}
  - flatten: {start_dim: 2}
  - split: {split_size_or_sections: 2, index: 1}
  - slice: {dim: 2, start: -6, end: -1, step: 2}
  - upsample: {size_of: input, call: function}
""",
    "attention_projection_bias": """
input: [6, 32]
batch: 2
layers:
  - multihead_attention: {num_heads: 4, kv_heads: 2, qkv: separate, causal: true,
                          bias: {q: true, k: true, v: true, out: false}}  # Qwen2
  - multihead_attention: {num_heads: 4, qkv: separate, bias: {q: true, k: false, v: true, out: true}}  # Whisper
  - multihead_attention: {num_heads: 4, bias: {q: false, k: false, v: false, out: true}}  # fused, out only
""",
    "bias_add": """
input: [5, 12]
batch: 2
layers:
  - linear: {out_features: 10, bias: false}
  - bias_add: {buffer: true}
  - bias_add
""",
    "cross_attention": """
variables: {S: 7, T: 5}
inputs: {memory: [S, 16], tokens: [T]}
batch: 2
layers:
  - linear: {name: encoded, out_features: 24}
  - embedding: {num_embeddings: 30, embedding_dim: 12, from: tokens}
  - multihead_attention: {num_heads: 4, relative_buckets: 8, scaling: false}
  - multihead_attention: {num_heads: 4, causal: true, cache: 2, relative_buckets: 8, relative_table: false}
  - multihead_attention: {num_heads: 4, kv_from: encoded}
  - multihead_attention: {num_heads: 4, kv_from: encoded, qkv: separate, bias: {q: true, k: false, v: true, out: true}}
  - multihead_attention: {num_heads: 2, kv_heads: 1, head_dim: 5, bias: false, kv_from: memory, cache: 3}
""",
    "attention_partial_rotary": """
input: [6, 40]
batch: 2
layers:
  - multihead_attention: {num_heads: 4, causal: true, rotary: true, rotary_dim: 4}  # Phi-2's 40% of 10
  - multihead_attention: {num_heads: 2, kv_heads: 1, qkv: separate, bias: false, causal: true, cache: 3, rotary: true,
                          rotary_dim: 20}  # every feature, as rotary_dim left out
""",
    "scalar_mul": """
variables: {width: 12}
input: [5, width]
batch: 2
layers:
  - scalar_mul: {factor: width, exponent: 0.5}  # Gemma's x sqrt(width)
  - scalar_mul: {factor: 1 / 2}
  - scalar_mul: {factor: -3, exponent: -1}
  - scalar_mul: {factor: 2, buffer: true}  # a one-element buffer
""",
    "rotary_embedding": """
variables: {width: 16, heads: 2}
input: [5, width]
batch: 2
layers:
  - rotary_embedding: {dim: width / heads, base: 500000}  # Llama 3's tables: 2 x 4 buffers
  - rotary_embedding: {dim: 2, original_inv_freq: false}  # partial rotary, inv_freq alone: 1 buffer
""",
    "windows": """
input: [16, 10, 9]
batch: 2
layers:
  - permute: {dims: [0, 2, 3, 1]}                                       # [H, W, C], as Swin holds its maps
  - window_attention: {num_heads: 2, window_size: [4, 3], shift_size: [2, 1]}   # padded to 12 x 9, shifted
  - window_attention: {num_heads: 4, window_size: 5, qkv_bias: false, proj_bias: false, relative_position_bias: false}
  - roll: {shifts: [1, -2], dims: [1, 2]}
  - window_attention: {num_heads: 1, window_size: [10, 3], shift_size: [3, 1]}  # the window covers H: no shift there
  - roll: {shifts: 4, dims: -1}
""",
    "attention_batched": """
input: [4, 6, 16]
batch: 2
layers:
  - multihead_attention: {num_heads: 2, call: explicit}           # 4 independent sequences of 6 tokens (MobileViT)
  - multihead_attention: {num_heads: 4, head_dim: 8, kv_heads: 2, bias: false, qkv: separate}
  - reshape: {shape: [2, 2, 6, 16]}
  - multihead_attention: {num_heads: 1, call: module}           # nn.MultiheadAttention over the 4 sequences
  - multihead_attention: {num_heads: 4}                          # (the fast path, on the sequences of the batch)
  - multihead_attention: {num_heads: 1, out_proj: false, kernel: fused}
""",
    "levit_parts": """
input: [16, 12]
batch: 2
layers:
  - linear: {out_features: 24, bias: false}
  - token_batchnorm                                              # over the 24 features of each of 16 tokens
  - reshape: {shape: [16, 2, 12]}
  - permute: {name: k, dims: [0, 2, 1, 3]}                       # [2 heads, 16 tokens of a 4 x 4 grid, 12]
  - matmul: {inputs: [k, k], transpose_b: true}                  # [2, 16, 16]
  - attention_bias: {resolution: [4, 4], scale: 0.25}
  - softmax: {dim: -1}
  - matmul: {inputs: [".", k]}                                   # [2, 16, 12]
  - permute: {dims: [0, 2, 1, 3]}
  - reshape: {shape: [4, 4, 24]}
  - permute: {dims: [0, 3, 1, 2]}
  - maxpool2d: {kernel_size: 1, stride: 2}                       # queries: the 4 x 4 grid every 2
  - permute: {dims: [0, 2, 3, 1]}
  - reshape: {shape: [4, 2, 12]}
  - permute: {name: q, dims: [0, 2, 1, 3]}                       # [2, 4 queries, 12]
  - matmul: {inputs: [q, k], transpose_b: true}                  # [2, 4, 16]
  - attention_bias: {resolution: 4, stride: 2}
  - reshape: {shape: [8, 16]}
  - token_batchnorm: {affine: false, num_batches_tracked: false}
""",
}

NOT_PEERS = frozenset({"pools_2d", "keras_channels_last", "upsample_fractional", "products_broadcast",
                       "merges_from_saved", "tied_embedding", "cross_attention"})
PEERS = tuple(name for name in SPECS if name not in NOT_PEERS)


def spec_text(name: str) -> str:
    """The spec of that name, as YAML text with its name."""
    return f"name: {name}\n" + SPECS[name].lstrip("\n")
