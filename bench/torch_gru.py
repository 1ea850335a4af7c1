#!/usr/bin/python3
"""PyTorch reference for bench/run (row "BiGRU-att"): HTrans's binary classifier (Banerjee et al.
2019) timed on random data exactly as bench_network --encoder bigru-att times hftc. Prints one JSON
object.

Model: tests/ref/torch_bigru_att.py, the network tests/ref/make_golden_gru.py proves equal to hftc's
bigru-att network (src/model/encoder_bigru.c), with the paper's dropout .4 on the GRU outputs,
BCEWithLogitsLoss and Adam.

Every document has the full length T (hftc's bench does the same), so both sides do the same work
and the GRU runs on the padded tensor directly: pack_padded_sequence with equal lengths gives the
same result and only adds packing overhead (--pack measures it). The attention masks are still
built and applied, as a variable-length implementation would.

Run with Debian's python3 (python3-torch); torch.set_num_threads(--threads)."""
import json
import os
import sys

import torch
import torch.nn as nn
from torch_timing import adam_steps, measure, parse_args

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
from torch_bigru_att import BiGRUAtt  # noqa: E402


def main():
    def extra(ap):
        ap.add_argument("--rnn-hidden", type=int, default=96)
        ap.add_argument("--attention", type=int, default=0, help="0 = 2 x rnn-hidden")
        ap.add_argument("--hidden", type=int, default=0)
        ap.add_argument("--rnn-dropout", type=float, default=0.4)
        ap.add_argument("--embed-dropout", type=float, default=0.0)
        ap.add_argument("--hidden-dropout", type=float, default=0.0)
        ap.add_argument("--pack", action="store_true", help="run the GRU on pack_padded_sequence input")

    a = parse_args({"batch": 128, "len": 100, "classes": 1, "vocab": 50000, "dim": 100}, extra)
    model = BiGRUAtt(a.vocab, a.dim, a.rnn_hidden, a.attention or 2 * a.rnn_hidden, a.hidden, a.classes,
                     a.rnn_dropout, a.embed_dropout, a.hidden_dropout, a.pack)
    loss_fn = nn.BCEWithLogitsLoss()
    tokens = torch.randint(2, a.vocab, (a.batch, a.len))
    lengths = torch.full((a.batch,), a.len, dtype=torch.long)  # full-length documents, as hftc's bench
    targets = (torch.rand(a.batch, a.classes) < 0.5).float()

    train_step = adam_steps(model, lambda: loss_fn(model(tokens, lengths), targets))

    result = measure(model, train_step, lambda: torch.sigmoid(model(tokens, lengths)),
                     lambda: torch.sigmoid(model(tokens[:1], lengths[:1])), a.batch, a.iters, infer_iters=a.infer_iters)
    print(json.dumps(dict(result, pack=a.pack)))


if __name__ == "__main__":
    main()
