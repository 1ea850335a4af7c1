#!/usr/bin/python3
"""PyTorch reference for bench/run (row "BiGRU-att"): HTrans's binary classifier (Banerjee et al.
2019) timed on random data exactly as bench_network --encoder bigru-att times hftc. Prints one JSON
object.

Model, as hftc's bigru-att network (src/model/encoder_bigru.c; tests/ref/make_golden_gru.py checks
the two agree): nn.Embedding(V, E, padding_idx=0) -> [dropout] -> nn.GRU(E, H, bidirectional=True,
batch_first=True) -> dropout .4 on the GRU outputs S -> over the valid positions t < L:
    u_t = tanh(W s_t + b),  a = softmax_t(u_t . c),  Att = sum_t a_t s_t,
    Max = max_t s_t,  Mean = sum_t s_t / L
-> [Att | Max | Mean] (6H) -> [fc1 -> ReLU] -> [dropout] -> Linear(., C) -> BCEWithLogitsLoss, Adam.

Every document has the full length T (hftc's bench does the same), so both sides do the same work
and the GRU runs on the padded tensor directly: pack_padded_sequence with equal lengths gives the
same result and only adds packing overhead (--pack measures it). The attention masks are still
built and applied, as a variable-length implementation would.

Run with Debian's python3 (python3-torch); torch.set_num_threads(--threads)."""
import argparse
import json

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch_timing import measure


class Attention(nn.Module):
    """Word attention (Yang et al. 2016) + max + mean pooling over the first lengths[b] positions."""

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
    def __init__(self, vocab, dim, H, A, hidden, classes, rnn_dropout, embed_dropout, hidden_dropout, pack):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
        self.gru = nn.GRU(dim, H, bidirectional=True, batch_first=True)
        self.attention = Attention(2 * H, A)
        self.fc1 = nn.Linear(6 * H, hidden) if hidden else None
        self.out = nn.Linear(hidden or 6 * H, classes)
        self.rnn_dropout, self.embed_dropout, self.hidden_dropout = rnn_dropout, embed_dropout, hidden_dropout
        self.pack = pack

    def forward(self, tokens, lengths):
        x = F.dropout(self.embedding(tokens), self.embed_dropout, self.training)
        if self.pack:
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            s, _ = pad_packed_sequence(self.gru(packed)[0], batch_first=True, total_length=tokens.shape[1])
        else:
            s = self.gru(x)[0]
        s = F.dropout(s, self.rnn_dropout, self.training)
        h = self.attention(s, lengths)
        if self.fc1 is not None:
            h = F.relu(self.fc1(h))
        return self.out(F.dropout(h, self.hidden_dropout, self.training))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--len", type=int, default=100)
    ap.add_argument("--classes", type=int, default=1)
    ap.add_argument("--vocab", type=int, default=50000)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--rnn-hidden", type=int, default=96)
    ap.add_argument("--attention", type=int, default=0, help="0 = 2 x rnn-hidden")
    ap.add_argument("--hidden", type=int, default=0)
    ap.add_argument("--rnn-dropout", type=float, default=0.4)
    ap.add_argument("--embed-dropout", type=float, default=0.0)
    ap.add_argument("--hidden-dropout", type=float, default=0.0)
    ap.add_argument("--pack", action="store_true", help="run the GRU on pack_padded_sequence input")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--infer-iters", type=int, default=0, help="inference batches (0: --iters)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = BiGRUAtt(a.vocab, a.dim, a.rnn_hidden, a.attention or 2 * a.rnn_hidden, a.hidden, a.classes,
                     a.rnn_dropout, a.embed_dropout, a.hidden_dropout, a.pack)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    tokens = torch.randint(2, a.vocab, (a.batch, a.len))
    lengths = torch.full((a.batch,), a.len, dtype=torch.long)  # full-length documents, as hftc's bench
    targets = (torch.rand(a.batch, a.classes) < 0.5).float()

    def train_step():
        opt.zero_grad()
        loss = loss_fn(model(tokens, lengths), targets)
        loss.backward()
        opt.step()
        return loss

    result = measure(model, train_step, lambda: torch.sigmoid(model(tokens, lengths)),
                     lambda: torch.sigmoid(model(tokens[:1], lengths[:1])), a.batch, a.iters, infer_iters=a.infer_iters)
    print(json.dumps(dict(result, pack=a.pack)))


if __name__ == "__main__":
    main()
