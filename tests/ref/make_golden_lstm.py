#!/usr/bin/python3
"""Writes tests/golden/lstm.golden, read by tests/test_golden_lstm.c: a PyTorch network built from
torch.nn.LSTM(bidirectional=True) on pack_padded_sequence input, to be identical to hftc's bilstm network
(src/model/encoder_bilstm.c, src/nn/lstm.c, src/model/rnn_pool.c), its inputs, weights, outputs, losses and every
parameter gradient.

Run from anywhere with Debian's /usr/bin/python3 (torch 1.13); the output is deterministic. The model runs in
float64 from float32-representable weights, so the reference is exact to double precision and the C test measures
only its own float32 rounding.

Model: embedding -> nn.LSTM(E, H, bidirectional=True, batch_first=True) on packed sequences -> pooling over each
document's words: "last" the final states h_n of both directions [forward | backward], "max" and "mean" over the
valid positions of the padded output -> head (dropout 0): either fc1 -> tanh -> BatchNorm1d -> out (the bilstm
presets' head) or out alone. Parameter names are hftc's tensor names (embedding.weight, lstm.weight_ih_l0,
lstm.bias_hh_l0_reverse, fc1.weight, bn.weight, bn.running_mean, out.bias, ...); the C test loads every tensor by
name and shape, which checks that hftc's LSTM keeps torch's (4H, .) gate blocks in the order i, f, g, o.

Records per variant: the weights (batch norm's running statistics random, not (0, 1), so that inference shows using
them); "probs" and "loss" of the model in eval mode; "train_loss" and every "grad." of one training-mode step
(batch statistics); with batch norm "after.bn.running_mean" and "after.bn.running_var", the statistics that step
leaves. Variants:
  max   softmax, the MLP head (hidden 6), H 4, E 5, C 4; lengths 7, 3, 1, 5 with T 7;
  mean  softmax, the MLP head (hidden 5), H 5, E 4, C 3; lengths 6, 2, 7, 4 with T 7;
  last  sigmoid with pos_weight, no hidden layer, H 3, E 6, C 4; lengths 5, 7, 1, 3 with T 7.
"config" is [V, E, H, pool (0 last, 1 max, 2 mean), hidden, C, B, T, head (0 sigmoid, 1 softmax)]."""
import os
import sys

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_file import GoldenFile, batch, head_targets, init_recurrent  # noqa: E402

torch.set_default_dtype(torch.float64)

V, B, T = 30, 4, 7
POOLS = ("last", "max", "mean")


class Net(nn.Module):
    def __init__(self, E, H, pool, hidden, C):
        super().__init__()
        self.pool = pool
        self.embedding = nn.Embedding(V, E, padding_idx=0)
        self.lstm = nn.LSTM(E, H, bidirectional=True, batch_first=True)
        self.fc1 = nn.Linear(2 * H, hidden) if hidden else None
        self.bn = nn.BatchNorm1d(hidden) if hidden else None
        self.out = nn.Linear(hidden or 2 * H, C)

    def forward(self, tokens, lengths):
        packed = pack_padded_sequence(self.embedding(tokens), lengths, batch_first=True, enforce_sorted=False)
        out, (h_n, _) = self.lstm(packed)
        s, _ = pad_packed_sequence(out, batch_first=True, total_length=tokens.shape[1])
        valid = (torch.arange(s.shape[1])[None, :] < lengths[:, None])[:, :, None]
        if self.pool == "last":
            feat = torch.cat([h_n[0], h_n[1]], 1)
        elif self.pool == "max":
            feat = s.masked_fill(~valid, float("-inf")).max(1).values
        else:
            feat = (s * valid).sum(1) / lengths[:, None]
        if self.fc1 is not None:
            feat = self.bn(torch.tanh(self.fc1(feat)))
        return self.out(feat)


golden = GoldenFile()
add = golden.add


def variant(prefix, E, H, pool, hidden, C, head, lengths, seed):
    torch.manual_seed(seed)
    m = Net(E, H, pool, hidden, C)
    init_recurrent(m, m.lstm)
    tokens, lengths = batch(seed + 1, lengths, V, T, first_id=2, unk_at=(0, 3))
    targets, pos_weight, loss_fn, probs_of = head_targets(head, seed + 2, B, C)

    add(prefix + "config", [V, E, H, POOLS.index(pool), hidden, C, B, T, 1 if head == "softmax" else 0])
    golden.add_inputs(prefix, tokens, lengths, targets, pos_weight)
    golden.add_network_passes(prefix, m, tokens, lengths, targets, loss_fn, probs_of)

variant("max.", E=5, H=4, pool="max", hidden=6, C=4, head="softmax", lengths=[7, 3, 1, 5], seed=31)
variant("mean.", E=4, H=5, pool="mean", hidden=5, C=3, head="softmax", lengths=[6, 2, 7, 4], seed=41)
variant("last.", E=6, H=3, pool="last", hidden=0, C=4, head="sigmoid", lengths=[5, 7, 1, 3], seed=51)
golden.write("lstm.golden")
