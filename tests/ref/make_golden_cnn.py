#!/usr/bin/python3
"""Writes tests/golden/cnn.golden, read by tests/test_golden_cnn.c: a PyTorch Kim CNN / XML-CNN built
to be identical to hftc's network (src/model/network.c), its inputs, weights, outputs, loss, every
parameter gradient, and the parameters after three optimiser steps.

Run from anywhere with Debian's /usr/bin/python3 (torch 1.13); the output is deterministic.
The model runs in float64 from float32-representable weights, so the reference is exact to double
precision and the C test measures only its own float32 rounding.

Model (dropout 0): embedding (padding_idx 0) -> for each window K: Conv1d(E, F, K) over the
document, nn.AdaptiveMaxPool1d(p) over the valid window starts t < n = max(L - K + 1, 1) only,
flattened filter-major (F, p) -> concat -> ReLU -> [fc1 -> ReLU] -> out -> loss. p = 1 is Kim's
max over time; p > 1 is XML-CNN's dynamic max pooling, whose chunks hftc's conv1d must draw exactly
as AdaptiveMaxPool1d does ([floor(c n / p), ceil((c + 1) n / p))). Variants:
  sigmoid  windows 2,3,4, hidden 32, p 1, BCEWithLogitsLoss(pos_weight), plus optimiser steps;
  softmax  windows 1,3, no hidden layer, p 1, CrossEntropyLoss on one-hot targets;
  xml      windows 2,3,4, bottleneck 10, p 4, BCEWithLogitsLoss(pos_weight);
  xml2     the same with Conv1d(stride=2) (XML-CNN(2)): windows start at 0, 2, 4, ..., so n = max((L - K) // 2
           + 1, 1), lengths 10, 7, 4, 1 (n above, equal to and below p).
Documents: full length, padded, one of length 2 (shorter than windows 3 and 4), one of length 1; the
xml variant has lengths 10, 6, 3, 1, so that n is above, equal to and below p. "config" is
[V, E, F, hidden, C, B, T, p, stride].

Optimiser reference (sigmoid variant): 3 steps on the same batch, with the gradient of every step
(adam.grad<k>.*) and the parameters after the third (adam.*). Dense tensors: torch.optim.Adam with
two parameter groups (conv: lr 0.01, fc1/out: lr 0.005). The embedding is an
nn.Embedding(sparse=True) stepped by torch.optim.SparseAdam (lr 0.01): hftc's lazy row-sparse Adam
is defined to be exactly SparseAdam, so this checks the touched-row updates, the untouched rows
staying put, and row 0 never moving. The per-step gradients let the C test drive its optimiser with
PyTorch's exact gradients (isolating the optimiser from float32 rounding in the network, which
Adam's normalisation amplifies in elements with tiny gradients).

File format: HFTCGLD1, float64 records, as tests/ref/golden_file.py describes; "config" is
[V, E, F, hidden, C, B, T, p].
Conv weights are stored in hftc's layout (F, K*E) with [f, k*E + e] = torch weight[f, e, k]."""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_file import GoldenFile, batch, f32, head_targets, head_tensors, optimise, tensor_getter  # noqa: E402

torch.set_default_dtype(torch.float64)

V, E, FILTERS, C, B, T = 50, 16, 8, 6, 4, 10
LENGTHS = [10, 7, 2, 1]


class CNN(nn.Module):
    def __init__(self, windows, hidden, chunks, sparse, stride=1):
        super().__init__()
        self.windows, self.stride = windows, stride
        self.pool = nn.AdaptiveMaxPool1d(chunks)
        self.embedding = nn.Embedding(V, E, padding_idx=0, sparse=sparse)
        self.convs = nn.ModuleList(nn.Conv1d(E, FILTERS, k, stride=stride) for k in windows)
        features = FILTERS * len(windows) * chunks
        self.fc1 = nn.Linear(features, hidden) if hidden else None
        self.out = nn.Linear(hidden or features, C)

    def forward(self, tokens, lengths):
        x = self.embedding(tokens).transpose(1, 2)  # (B, E, T)
        pooled = []
        for k, conv in zip(self.windows, self.convs):
            y = conv(x)  # (B, F, (T - k) // stride + 1)
            n = torch.clamp(torch.div(lengths - k, self.stride, rounding_mode="floor") + 1, min=1)
            # Each document pools its own n valid window starts: (B, F, p) -> (B, F*p), f*p + c.
            pooled.append(torch.stack([self.pool(y[b:b + 1, :, :n[b]])[0] for b in range(len(n))]).flatten(1))
        h = F.relu(torch.cat(pooled, 1))
        if self.fc1 is not None:
            h = F.relu(self.fc1(h))
        return self.out(h)


def make_model(windows, hidden, chunks, sparse, seed, stride=1):
    torch.manual_seed(seed)
    m = CNN(windows, hidden, chunks, sparse, stride)
    with torch.no_grad():
        m.embedding.weight.uniform_(-0.25, 0.25)
        m.embedding.weight[0].zero_()
        for p in m.parameters():
            p.copy_(f32(p))
    return m


def hftc_tensors(m, grads=False):
    """name -> tensor in hftc's names and layouts (values, or gradients with grads=True)."""
    get = tensor_getter(grads)
    out = {"embedding.weight": get(m.embedding.weight)}
    for k, conv in zip(m.windows, m.convs):
        out[f"conv.{k}.weight"] = get(conv.weight).permute(0, 2, 1).reshape(FILTERS, k * E)
        out[f"conv.{k}.bias"] = get(conv.bias)
    return {**out, **head_tensors(m, get)}


golden = GoldenFile()
add = golden.add


def variant(prefix, windows, hidden, head, seed, chunks=1, lengths=LENGTHS, adam=False, stride=1):
    m = make_model(windows, hidden, chunks, sparse=True, seed=seed, stride=stride)
    tokens, lengths = batch(seed + 1, lengths, V, T, first_id=1, unk_at=(1, 3))
    targets, pos_weight, loss_fn, probs_of = head_targets(head, seed + 2, B, C)

    golden.add_variant(prefix, [V, E, FILTERS, hidden, C, B, T, chunks, stride], {"windows": windows},
                       (tokens, lengths, targets, pos_weight), hftc_tensors(m))
    logits = m(tokens, lengths)
    add(prefix + "logits", logits.detach().numpy())
    golden.add_pass(prefix, logits, loss_fn(logits, targets), probs_of, lambda: hftc_tensors(m, grads=True))

    if not adam:
        return
    m = make_model(windows, hidden, chunks, sparse=True, seed=seed)
    conv_params = [p for c in m.convs for p in c.parameters()]
    head_params = list(m.fc1.parameters()) + list(m.out.parameters())
    dense = torch.optim.Adam([{"params": conv_params, "lr": 0.01}, {"params": head_params, "lr": 0.005}])
    sparse = torch.optim.SparseAdam([m.embedding.weight], lr=0.01)
    losses = optimise([dense, sparse], lambda: loss_fn(m(tokens, lengths), targets), 3,
                      lambda step: golden.add_tensors(f"{prefix}adam.grad{step + 1}.", hftc_tensors(m, grads=True)))
    add(prefix + "adam.lr", [0.01, 0.005])
    add(prefix + "adam.loss", losses)
    golden.add_tensors(prefix + "adam.", hftc_tensors(m))


variant("sigmoid.", [2, 3, 4], 32, "sigmoid", seed=1, adam=True)
variant("softmax.", [1, 3], 0, "softmax", seed=2)
variant("xml.", [2, 3, 4], 10, "sigmoid", seed=3, chunks=4, lengths=[10, 6, 3, 1])
variant("xml2.", [2, 3, 4], 10, "sigmoid", seed=4, chunks=2, lengths=[10, 7, 4, 1], stride=2)

golden.write("cnn.golden")
