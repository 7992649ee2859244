"""A ViT whose weights are *set*, not trained or random, so that its pooler output is a known
near-duplicate descriptor: the 7x7 colour thumbnail of the photo, centred per photo.

Why it exists: the threshold calibration must be shown to find the right threshold on a
similarity scale nobody chose. That needs a stand-in model that *can* tell copies from
unrelated photos, as the real google/vit-base-patch16-224-in21k can, and whose scale can then be
squashed or spread. The random tiny ViT cannot: even a threshold chosen with the truth reaches
only min(precision, recall) 0.87 on the calibration test's set, because a random ViT mostly
sees each photo's mean colour. The mean-centred 7x7 thumbnail ("tiny image" descriptor, a
classic copy detector) reaches 1.0 on the same set, and a ViT can compute it exactly:

- patch embedding: each 16x16 patch's mean R, G, B (as +/- pairs, so a token's mean stays 0);
  position embedding: the patch's row and column in the 7x7 grid of 2x2-patch cells, as +/-L
  codes large enough that LayerNorm divides every token by the same number;
- layer 0's MLP: one GELU unit per (cell, channel), open only on the tokens of its cell (the
  row and column codes gate it), writes the token's colour into that cell's slot;
- layer 1's attention: zero queries and keys, i.e. the [CLS] token averages every token, so it
  holds each cell's mean colour;
- pooler: tanh of the cell colours minus their mean (per photo), turned by a fixed random
  rotation into all hidden dimensions. Brightness offsets and contrast scaling cancel in the
  centring and the cosine, as they do for a trained model.

Same class (ViTModel), file layout and preprocessing (224, bilinear, 0.5/0.5) as the real
model; hidden size 192 (ViT-Ti's), 2 layers. `thumbnail_reference` is the same descriptor in
numpy, which the tests compare the model against.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

_GRID = 7  # cells per side: 14 patches / 2
_CELLS = _GRID * _GRID
_HIDDEN = 192
_COLOUR = 0  # 6 dims: r, -r, g, -g, b, -b (patch means)
_CODE = 6  # 28 dims: 7 row pairs, 7 column pairs (+L, -L) own / (-L, +L) other
_SLOTS = _CODE + 4 * _GRID  # 147 dims: cell k, channel ch at _SLOTS + 3k + ch
_L = 50.0  # code magnitude: the codes' variance dwarfs the colours' (LayerNorm ~constant)
_ALPHA, _GATE, _OFFSET = 10.0, 100.0, 1.3  # unit: GELU(alpha (c + offset)) or GELU(<= -2 gate)
_POOLER_GAIN = 0.5


def build_thumbnail_vit(out: Path, *, seed: int = 0) -> Path:
    """Writes the thumbnail ViT to ``out`` (config.json, model.safetensors, preprocessor)."""
    import torch
    from transformers import ViTConfig, ViTModel

    from tests.support.photos import TINY_VIT

    config = ViTConfig(
        image_size=224,
        patch_size=16,
        num_channels=3,
        hidden_size=_HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=3,
        intermediate_size=3 * _CELLS,
        hidden_act="gelu",
    )
    model = ViTModel(config, add_pooling_layer=True).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        for norm in _layer_norms(model):
            norm.weight.fill_(1.0)
        _embeddings(model.embeddings)
        _gate_cells(model.layers[0])
        _average_into_cls(model.layers[1])
        _centre_cells(model.pooler.dense, seed)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    shutil.copy(TINY_VIT / "preprocessor_config.json", out)
    return out


def _layer_norms(model):
    import torch

    return [m for m in model.modules() if isinstance(m, torch.nn.LayerNorm)]


def _cell(row: int, col: int) -> int:
    return (row // 2) * _GRID + col // 2


def _embeddings(emb) -> None:
    conv = emb.patch_embeddings.projection  # weight (_HIDDEN, 3, 16, 16)
    for ch in range(3):
        conv.weight[_COLOUR + 2 * ch, ch] = 1.0 / 256
        conv.weight[_COLOUR + 2 * ch + 1, ch] = -1.0 / 256
    pos = emb.position_embeddings[0]  # (197, _HIDDEN); row 0 is [CLS]
    pos[1:, _CODE:_SLOTS:2] = -_L  # every code "other"; [CLS] has none (all zero)
    pos[1:, _CODE + 1 : _SLOTS : 2] = _L
    for token in range(1, 197):
        row, col = divmod(token - 1, 14)
        for code in (row // 2, _GRID + col // 2):
            pos[token, _CODE + 2 * code] = _L
            pos[token, _CODE + 2 * code + 1] = -_L


def _scale() -> float:
    """LayerNorm's divisor for every token: the codes' standard deviation."""
    return _L * (4 * _GRID / _HIDDEN) ** 0.5


def _gate_cells(layer) -> None:
    s = _scale()
    up, down = layer.mlp.fc1, layer.mlp.fc2
    for k in range(_CELLS):
        row, col = divmod(k, _GRID)
        for ch in range(3):
            unit = 3 * k + ch
            up.weight[unit, _COLOUR + 2 * ch] = _ALPHA * s  # alpha * c after LayerNorm
            for code in (row, _GRID + col):  # +gate when the token's code is +L, else -gate
                up.weight[unit, _CODE + 2 * code] = _GATE * s / _L
            up.bias[unit] = _ALPHA * _OFFSET - 2 * _GATE
            down.weight[_SLOTS + unit, unit] = 1.0 / _ALPHA


def _average_into_cls(layer) -> None:
    """[CLS] takes the mean of every token's cell slots, each centred over the 147 slots
    (the value projection): so [CLS] holds the centred thumbnail and nothing else, and the
    final LayerNorm scales it to a fixed norm (contrast cancels, as cosine needs)."""
    import torch

    n = 3 * _CELLS
    slots = slice(_SLOTS, _SLOTS + n)
    layer.attention.v_proj.weight[slots, slots] = torch.eye(n) - torch.full((n, n), 1.0 / n)
    gain = 197 * _scale() / 4  # a cell's 4 tokens among 197, each divided by the scale
    layer.attention.o_proj.weight[slots, slots] = gain * torch.eye(n)


def _centre_cells(dense, seed: int) -> None:
    """A fixed random rotation of the slots into all hidden dimensions, then tanh."""
    import torch

    n = 3 * _CELLS
    rng = np.random.default_rng(seed)
    turn, _ = np.linalg.qr(rng.standard_normal((_HIDDEN, _HIDDEN)))
    rotation = torch.from_numpy(turn[:, :n]).float()  # orthonormal columns
    dense.weight[:, _SLOTS : _SLOTS + n] = _POOLER_GAIN * rotation


def thumbnail_reference(pixels: np.ndarray) -> np.ndarray:
    """The descriptor in numpy: ``pixels`` (224, 224, 3) preprocessed to [-1, 1]; returns the
    per-photo-centred 7x7 cell means (147 values, cell-major then channel)."""
    cells = pixels.reshape(_GRID, 224 // _GRID, _GRID, 224 // _GRID, 3).mean((1, 3)).reshape(-1)
    return cells - cells.mean()
