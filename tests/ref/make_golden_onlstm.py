#!/usr/bin/python3
"""Writes tests/golden/onlstm.golden, read by tests/test_golden_onlstm.c: a PyTorch ON-LSTM network built
to be identical to hftc's onlstm network with the HFT-ONLSTM paper's MLP head (src/model/encoder_onlstm.c,
src/nn/onlstm.c, src/nn/batchnorm.c), its inputs, weights, outputs, losses and every parameter gradient.

Run from anywhere with Debian's /usr/bin/python3 (torch 1.13); the output is deterministic. The model
runs in float64 from float32-representable weights, so the reference is exact to double precision and
the C test measures only its own float32 rounding.

The ON-LSTM cell is written here from the HFT-ONLSTM paper's equations (1)-(11) with the gate layout of
the reference code of Shen et al. (ONLSTMCell: linear layers ih (E -> G) and hh (H -> G), G = 2K + 4H,
K = H / chunk; rows [master input | master forget | o | c^ | i | f]):
    mi = 1 - cumsum(softmax(g_mi)), mf = cumsum(softmax(g_mf))      (per chunk, spread over its units)
    w = mf * mi,  F = f * w + (mf - w),  I = i * w + (mi - w)
    c' = F * c + I * tanh(g_c),  h' = sigmoid(g_o) * tanh(c')
Document b runs t = 0 .. L-1 from zero states; the encoder's output is the state at t = L-1 ("last")
or the per-unit maximum over t < L ("max"). Head (dropout 0): fc1 -> tanh -> BatchNorm1d -> out ->
cross entropy. Parameter names are hftc's tensor names (embedding.weight, onlstm.ih.weight,
onlstm.hh.bias, fc1.weight, bn.weight, bn.running_mean, out.bias, ...); the C test loads every tensor
by name and shape.

Records per variant: the weights (batch norm's running statistics random, not (0, 1), so that
inference shows using them); "probs" and "loss" of the model in eval mode (running statistics);
"train_loss" and every "grad." of one training-mode step (batch statistics); "after.bn.running_mean"
and "after.bn.running_var", the statistics that step leaves (momentum 0.1, unbiased variance).
Variants:
  last  chunk 1 (the paper's equations), H 4, E 6, hidden 5, C 4; lengths 7, 3, 1, 5 with T 7;
  max   chunk 2, H 6, E 5, hidden 7, C 3; lengths 6, 2, 7, 4 with T 7.
"config" is [V, E, H, chunk, pool (0 last, 1 max), hidden, C, B, T]."""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_file import GoldenFile, batch, head_targets, init_recurrent  # noqa: E402

torch.set_default_dtype(torch.float64)

V, B, T = 30, 4, 7


class ONLSTM(nn.Module):
    def __init__(self, E, H, chunk):
        super().__init__()
        self.H, self.K, self.chunk = H, H // chunk, chunk
        G = 2 * self.K + 4 * H
        self.ih = nn.Linear(E, G)
        self.hh = nn.Linear(H, G)

    def forward(self, x, lengths):
        """x (B, T, E) -> states (B, T, H), zero at t >= L."""
        Bn, Tn, _ = x.shape
        H, K = self.H, self.K
        h, c = x.new_zeros(Bn, H), x.new_zeros(Bn, H)
        outs = []
        for t in range(Tn):
            g = self.ih(x[:, t]) + self.hh(h)
            mi = 1 - torch.cumsum(torch.softmax(g[:, :K], 1), 1)
            mf = torch.cumsum(torch.softmax(g[:, K:2 * K], 1), 1)
            mi = mi.repeat_interleave(self.chunk, 1)
            mf = mf.repeat_interleave(self.chunk, 1)
            o, ch, i, f = g[:, 2 * K:].split(H, 1)
            o, ch, i, f = torch.sigmoid(o), torch.tanh(ch), torch.sigmoid(i), torch.sigmoid(f)
            w = mf * mi
            c_new = (f * w + (mf - w)) * c + (i * w + (mi - w)) * ch
            h_new = o * torch.tanh(c_new)
            live = (t < lengths)[:, None]
            c = torch.where(live, c_new, c)
            h = torch.where(live, h_new, h)
            outs.append(torch.where(live, h_new, torch.zeros_like(h_new)))
        return torch.stack(outs, 1)


class Net(nn.Module):
    def __init__(self, E, H, chunk, pool, hidden, C):
        super().__init__()
        self.pool = pool
        self.embedding = nn.Embedding(V, E, padding_idx=0)
        self.onlstm = ONLSTM(E, H, chunk)
        self.fc1 = nn.Linear(H, hidden)
        self.bn = nn.BatchNorm1d(hidden)
        self.out = nn.Linear(hidden, C)

    def forward(self, tokens, lengths):
        s = self.onlstm(self.embedding(tokens), lengths)
        if self.pool == "max":
            valid = torch.arange(s.shape[1])[None, :] < lengths[:, None]
            feat = s.masked_fill(~valid[:, :, None], float("-inf")).max(1).values
        else:
            feat = s[torch.arange(s.shape[0]), lengths - 1]
        return self.out(self.bn(torch.tanh(self.fc1(feat))))


golden = GoldenFile()
add = golden.add


def variant(prefix, E, H, chunk, pool, hidden, C, lengths, seed):
    torch.manual_seed(seed)
    m = Net(E, H, chunk, pool, hidden, C)
    init_recurrent(m, m.onlstm)
    tokens, lengths = batch(seed + 1, lengths, V, T, first_id=2, unk_at=(0, 3))
    targets, pos_weight, loss_fn, probs_of = head_targets("softmax", seed + 2, B, C)

    add(prefix + "config", [V, E, H, chunk, 1 if pool == "max" else 0, hidden, C, B, T])
    golden.add_inputs(prefix, tokens, lengths, targets, pos_weight)
    golden.add_network_passes(prefix, m, tokens, lengths, targets, loss_fn, probs_of)

variant("last.", E=6, H=4, chunk=1, pool="last", hidden=5, C=4, lengths=[7, 3, 1, 5], seed=11)
variant("max.", E=5, H=6, chunk=2, pool="max", hidden=7, C=3, lengths=[6, 2, 7, 4], seed=21)
golden.write("onlstm.golden")


def check_bench_cell():
    """bench/torch_onlstm.py times the reference code's formulation of the cell (master gates broadcast
    over (K, chunk) views, the state at the last word); it must compute what ONLSTM above computes."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
    import torch_onlstm  # noqa: E402

    for E, H, chunk in ((6, 4, 1), (5, 6, 2), (7, 50, 10)):
        torch.manual_seed(chunk)
        bench_cell, cell = torch_onlstm.ONLSTM(E, H, chunk), ONLSTM(E, H, chunk)
        cell.load_state_dict(bench_cell.state_dict())
        x, lengths = torch.randn(3, T, E), torch.full((3,), T, dtype=torch.long)
        diff = (bench_cell(x, lengths) - cell(x, lengths)[:, -1]).abs().max().item()
        assert diff < 1e-12, f"bench/torch_onlstm.py's cell differs by {diff} (E {E}, H {H}, chunk {chunk})"
    print("bench/torch_onlstm.py's cell computes the same states")


check_bench_cell()
