#!/usr/bin/python3
"""Writes tests/golden/gru.golden, read by tests/test_golden_gru.c: a PyTorch BiGRU + attention network
built to be identical to hftc's bigru-att network (src/model/encoder_bigru.c, src/nn/gru.c,
src/nn/attention.c), its inputs, weights, outputs, loss and every parameter gradient.

Run from anywhere with Debian's /usr/bin/python3 (torch 1.13); the output is deterministic.
The model runs in float64 from float32-representable weights, so the reference is exact to double
precision and the C test measures only its own float32 rounding.

Model (dropout 0): embedding (padding_idx 0) -> torch.nn.GRU(E, H, bidirectional=True,
batch_first=True) on pack_padded_sequence input, pad_packed_sequence back to (B, T, 2H) (zeros past
each length) -> over the valid positions t < L only:
    u_t = tanh(W s_t + b),  a = softmax_t(u_t . c),  Att = sum_t a_t s_t,
    Max = max_t s_t,  Mean = sum_t s_t / L
-> [Att | Max | Mean] (6H) -> [fc1 -> ReLU] -> out -> loss. The attention is written here from those
equations (W, b: nn.Linear(2H, A); c: a parameter of size A), not taken from hftc. Parameter names
are hftc's tensor names as they are (embedding.weight, gru.weight_ih_l0, gru.weight_hh_l0_reverse,
attention.weight, attention.context, fc1.weight, out.bias, ...), and so are the layouts: the C test
loads every tensor by name and shape, which checks that hftc's GRU keeps torch's (3H, .) gate blocks
in the order r, z, n. Variants:
  sigmoid  H 6, attention size 10 (not 2H), no hidden layer, BCEWithLogitsLoss(pos_weight);
           lengths 9, 5, 2, 1 with T 9;
  softmax  H 5, attention size 2H (config 0), hidden layer 8, CrossEntropyLoss on one-hot targets;
           lengths 7, 3, 1, 6 with T 9, so that every document is padded, unsorted.
The embedding is uniform(-1, 1) (row 0 zero) rather than the network's +-0.25, so that the GRU works
away from its linear regime, and the attention's W is uniform(-1, 1) and c uniform(-2, 2), so that
the attention weights are far from uniform: with PyTorch's default initialisation the softmax's
gradient (which sums to zero over a document) nearly cancels in the attention's gradients, leaving
values ~1e-4 of the others that even PyTorch's own float32 run gets only to ~1e-4 relative. Every
other tensor has PyTorch's default initialisation.

File format: HFTCGLD1, float64 records, as tests/ref/golden_file.py describes; "config" is
[V, E, H, attention_dim (0 = 2H), hidden, C, B, T]."""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_file import GoldenFile, batch, f32, head_targets  # noqa: E402

torch.set_default_dtype(torch.float64)

V, E, C, B, T = 30, 8, 5, 4, 9


class Attention(nn.Module):
    """Word attention + max + mean pooling over the first lengths[b] positions."""

    def __init__(self, D, A):
        super().__init__()
        lin = nn.Linear(D, A)
        self.weight, self.bias = lin.weight, lin.bias
        self.context = nn.Parameter(torch.empty(A).uniform_(-1 / A**0.5, 1 / A**0.5))

    def forward(self, s, lengths):
        valid = torch.arange(s.shape[1])[None, :] < lengths[:, None]  # (B, T)
        u = torch.tanh(F.linear(s, self.weight, self.bias))  # (B, T, A)
        a = torch.softmax((u @ self.context).masked_fill(~valid, float("-inf")), 1)
        att = (a[:, :, None] * s).sum(1)
        mx = s.masked_fill(~valid[:, :, None], float("-inf")).max(1).values
        mean = (s * valid[:, :, None]).sum(1) / lengths[:, None]
        return torch.cat([att, mx, mean], 1)


class BiGRUAtt(nn.Module):
    def __init__(self, H, A, hidden):
        super().__init__()
        self.embedding = nn.Embedding(V, E, padding_idx=0)
        self.gru = nn.GRU(E, H, bidirectional=True, batch_first=True)
        self.attention = Attention(2 * H, A)
        self.fc1 = nn.Linear(6 * H, hidden) if hidden else None
        self.out = nn.Linear(hidden or 6 * H, C)

    def forward(self, tokens, lengths):
        x = self.embedding(tokens)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        s, _ = pad_packed_sequence(self.gru(packed)[0], batch_first=True, total_length=tokens.shape[1])
        h = self.attention(s, lengths)
        if self.fc1 is not None:
            h = F.relu(self.fc1(h))
        return self.out(h)


def make_model(H, A, hidden, seed):
    torch.manual_seed(seed)
    m = BiGRUAtt(H, A, hidden)
    with torch.no_grad():
        m.embedding.weight.uniform_(-1, 1)
        m.embedding.weight[0].zero_()
        m.attention.weight.uniform_(-1, 1)
        m.attention.context.uniform_(-2, 2)
        for p in m.parameters():
            p.copy_(f32(p))
    return m


golden = GoldenFile()
add = golden.add


def variant(prefix, H, attention_dim, hidden, head, lengths, seed):
    m = make_model(H, attention_dim or 2 * H, hidden, seed)
    tokens, lengths = batch(seed + 1, lengths, V, T, first_id=2, unk_at=(0, 3))
    targets, pos_weight, loss_fn, probs_of = head_targets(head, seed + 2, B, C)

    add(prefix + "config", [V, E, H, attention_dim, hidden, C, B, T])
    golden.add_inputs(prefix, tokens, lengths, targets, pos_weight)
    for name, p in m.named_parameters():
        add(prefix + name, p.detach().numpy())

    logits = m(tokens, lengths)
    loss = loss_fn(logits, targets)
    loss.backward()
    add(prefix + "probs", probs_of(logits).detach().numpy())
    add(prefix + "loss", [loss.item()])
    for name, p in m.named_parameters():
        add(prefix + "grad." + name, p.grad.numpy())


variant("sigmoid.", H=6, attention_dim=10, hidden=0, head="sigmoid", lengths=[9, 5, 2, 1], seed=1)
variant("softmax.", H=5, attention_dim=0, hidden=8, head="softmax", lengths=[7, 3, 1, 6], seed=2)

golden.write("gru.golden")
