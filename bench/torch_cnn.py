#!/usr/bin/python3
"""PyTorch reference for bench/run-cnn: the flat-cnn model (Kim CNN, HFT-CNN paper sizes) timed
on random data exactly as bench_cnn times hftc. Prints one JSON object.

Run with Debian's python3 (python3-torch); torch.set_num_threads(--threads)."""
import json

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch_timing import adam_steps, measure, parse_args


class KimCNN(nn.Module):
    """embed_bound: embedding initialised uniform(-bound, bound) with a zero <pad> row (the HFT-CNN
    recipe); None keeps PyTorch's default."""

    def __init__(self, vocab, dim, windows, filters, hidden, classes, embed_bound=None):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
        if embed_bound is not None:
            nn.init.uniform_(self.embedding.weight, -embed_bound, embed_bound)
            with torch.no_grad():
                self.embedding.weight[0].zero_()
        self.convs = nn.ModuleList(nn.Conv1d(dim, filters, k) for k in windows)
        self.fc1 = nn.Linear(filters * len(windows), hidden)
        self.out = nn.Linear(hidden, classes)

    def forward(self, tokens):
        x = F.dropout(self.embedding(tokens), 0.25, self.training).transpose(1, 2)  # (B, E, T)
        pooled = [F.relu(conv(x)).max(dim=2).values for conv in self.convs]
        h = F.dropout(F.relu(self.fc1(torch.cat(pooled, 1))), 0.5, self.training)
        return self.out(h)


def main():
    def extra(ap):
        ap.add_argument("--filters", type=int, default=128)
        ap.add_argument("--hidden", type=int, default=1024)

    a = parse_args({"batch": 100, "len": 256, "classes": 20, "vocab": 20000, "dim": 300}, extra)
    model = KimCNN(a.vocab, a.dim, (2, 3, 4), a.filters, a.hidden, a.classes)
    loss_fn = nn.BCEWithLogitsLoss()
    tokens = torch.randint(2, a.vocab, (a.batch, a.len))
    targets = (torch.rand(a.batch, a.classes) < 0.1).float()

    train_step = adam_steps(model, lambda: loss_fn(model(tokens), targets))

    print(json.dumps(measure(model, train_step, lambda: torch.sigmoid(model(tokens)),
                             lambda: torch.sigmoid(model(tokens[:1])), a.batch, a.iters, infer_iters=a.infer_iters)))


if __name__ == "__main__":
    main()
