#!/usr/bin/python3
"""PyTorch reference for bench/run (row "ON-LSTM"): HFT-ONLSTM's level classifier timed on random data
exactly as bench_network --encoder onlstm times hftc. Prints one JSON object.

Model, as hftc's onlstm network with the paper's MLP head (src/model/encoder_onlstm.c):
nn.Embedding(V, E, padding_idx=0) -> dropout .25 -> ON-LSTM (the reference code's cell: ih = Linear(E, G)
over all timesteps at once, as ONLSTMStack does, then hh = Linear(H, G) step by step; G = 2H/chunk + 4H,
master gates by cumsum(softmax) broadcast over their chunks as ONLSTMCell does) -> the state at the last
word -> dropout .25 -> Linear(H, 500) -> tanh -> dropout .5 -> BatchNorm1d -> Linear(500, C) -> cross
entropy, Adam. tests/ref/make_golden_onlstm.py proves its network (the cell written from the paper's
equations) equal to hftc's, and checks that this cell computes the same states.

Every document has the full length T (hftc's bench does the same), so both sides do the same work.
Run with Debian's python3 (python3-torch); torch.set_num_threads(--threads)."""
import json

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch_timing import adam_steps, measure, parse_args


class ONLSTM(nn.Module):
    def __init__(self, E, H, chunk):
        super().__init__()
        self.H, self.K, self.chunk = H, H // chunk, chunk
        G = 2 * self.K + 4 * H
        self.ih = nn.Linear(E, G)
        self.hh = nn.Linear(H, G)

    def forward(self, x, lengths):
        """x (B, T, E) -> the state at each document's last word (B, H). The cell as the reference code
        computes it: the 4H gate rows viewed as (K, chunk), each master gate value broadcast over its chunk."""
        Bn, Tn, _ = x.shape
        H, K = self.H, self.K
        # The input projection of every timestep in one product, split into steps by unbind (one
        # backward node; indexing xi[:, t] would give each step a full-size zero gradient, ~20x slower).
        xs = self.ih(x).unbind(1)
        h, c = x.new_zeros(Bn, H), x.new_zeros(Bn, K, self.chunk)
        states = []
        for t in range(Tn):
            g = xs[t] + self.hh(h)
            mi = 1.0 - torch.cumsum(torch.softmax(g[:, :K], 1), 1)
            mf = torch.cumsum(torch.softmax(g[:, K:2 * K], 1), 1)
            o, ch, i, f = g[:, 2 * K:].view(-1, 4 * K, self.chunk).chunk(4, 1)
            mi, mf = mi[:, :, None], mf[:, :, None]
            w = mf * mi
            f = torch.sigmoid(f) * w + (mf - w)
            i = torch.sigmoid(i) * w + (mi - w)
            c = f * c + i * torch.tanh(ch)
            h = (torch.sigmoid(o) * torch.tanh(c)).view(-1, H)
            states.append(h)
        return torch.stack(states, 1)[torch.arange(Bn), lengths - 1]


class Net(nn.Module):
    def __init__(self, vocab, dim, H, chunk, hidden, classes):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
        self.onlstm = ONLSTM(dim, H, chunk)
        self.fc1 = nn.Linear(H, hidden)
        self.bn = nn.BatchNorm1d(hidden)
        self.out = nn.Linear(hidden, classes)

    def forward(self, tokens, lengths):
        x = F.dropout(self.embedding(tokens), 0.25, self.training)
        h = F.dropout(self.onlstm(x, lengths), 0.25, self.training)
        return self.out(self.bn(F.dropout(torch.tanh(self.fc1(h)), 0.5, self.training)))


def main():
    def extra(ap):
        ap.add_argument("--rnn-hidden", type=int, default=500)
        ap.add_argument("--chunk", type=int, default=10)
        ap.add_argument("--hidden", type=int, default=500)

    a = parse_args({"batch": 64, "len": 100, "classes": 10, "vocab": 50000, "dim": 300}, extra)
    model = Net(a.vocab, a.dim, a.rnn_hidden, a.chunk, a.hidden, a.classes)
    tokens = torch.randint(2, a.vocab, (a.batch, a.len))
    lengths = torch.full((a.batch,), a.len, dtype=torch.long)  # full-length documents, as hftc's bench
    labels = torch.randint(0, a.classes, (a.batch,))

    train_step = adam_steps(model, lambda: F.cross_entropy(model(tokens, lengths), labels))

    print(json.dumps(measure(model, train_step, lambda: torch.softmax(model(tokens, lengths), 1),
                             lambda: torch.softmax(model(tokens[:1], lengths[:1]), 1), a.batch, a.iters,
                             infer_iters=a.infer_iters, n_single=20)))


if __name__ == "__main__":
    main()
