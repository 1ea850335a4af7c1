#!/usr/bin/python3
"""Writes tests/golden/ngram.golden, read by tests/test_golden_ngram.c: a PyTorch fastText-style model built to
be identical to hftc's ngram network (src/model/encoder_ngram.c, src/nn/bag.c), its inputs, weights, outputs,
loss, every parameter gradient, and the parameters after three optimiser steps.

Run from anywhere with Debian's /usr/bin/python3 (torch 1.13); the output is deterministic. The model runs in
float64 from float32-representable weights, so the reference is exact to double precision and the C test
measures only its own float32 rounding.

Model (dropout 0), as fastText holds it: one input table of V word rows followed by BUCKETS bigram rows (hftc's
"embedding.weight" and "ngram.buckets"), read by torch.nn.EmbeddingBag(mode="mean") over each document's bag:
its L word ids, then V + bucket(a, b) for each of its L - 1 pairs of consecutive ids (a, b), so the mean is over
all 2L - 1 rows, words and bigrams together (a document of no words: zeros) -> [fc1 -> ReLU] -> out -> loss.
bucket(a, b) is splitmix64's output for the state a * 2^32 + b, modulo BUCKETS (hftc's rng_hash_pair). With
13 buckets for 16 bigrams, some bigrams share a row, whose gradient sums theirs. Variants:
  sigmoid  hidden 12, BCEWithLogitsLoss(pos_weight), lengths 10, 7, 2, 1, plus optimiser steps;
  softmax  no hidden layer, CrossEntropyLoss on one-hot targets, lengths 9, 4, 0, 3.
Words start uniform(-0.25, 0.25) with row 0 (<pad>) zero, buckets uniform(-1/E, 1/E), as hftc initialises them.

Optimiser reference (sigmoid variant): 3 steps on the same batch, the parameters after the third (adam.*) and
the losses (adam.loss). The input table (sparse=True) is stepped by torch.optim.SparseAdam (lr 0.01), which is
hftc's lazy row-sparse Adam for the embedding and the buckets alike (each row on its own); fc1 and out by
torch.optim.Adam (lr 0.005). And the same 3 steps by torch.optim.SGD (lr 0.05) on the loss summed over the
batch and the outputs (reduction "sum": fastText's step per document, hftc's --optimizer sgd), the parameters
after the third (sgd.*) and the mean losses (sgd.loss), all tensors, the table's rows sparse.

File format: HFTCGLD1, float64 records, as tests/ref/golden_file.py describes; "config" is
[V, E, BUCKETS, hidden, C, B, T]; "bigram_ids" the buckets of the batch's bigrams in document order."""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_file import GoldenFile, batch, f32, head_targets, head_tensors, optimise, tensor_getter  # noqa: E402

torch.set_default_dtype(torch.float64)

V, E, BUCKETS, C, B, T = 40, 16, 13, 6, 4, 10
MASK = (1 << 64) - 1


def bigram_bucket(a, b):
    """The row of the bigram of ids (a, b) among the buckets: splitmix64 of a * 2^32 + b, modulo BUCKETS."""
    z = ((a << 32 | b) + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return (z ^ (z >> 31)) % BUCKETS


def bags(tokens, lengths):
    """EmbeddingBag's input and offsets: each document's word ids, then its bigrams' rows (V + bucket); and the
    buckets alone, in document order."""
    ids, offsets, bigrams = [], [], []
    for b, L in enumerate(lengths.tolist()):
        offsets.append(len(ids))
        words = tokens[b, :L].tolist()
        pairs = [bigram_bucket(words[t], words[t + 1]) for t in range(L - 1)]
        ids += words + [V + k for k in pairs]
        bigrams += pairs
    return torch.tensor(ids), torch.tensor(offsets), bigrams


class NGram(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.bag = nn.EmbeddingBag(V + BUCKETS, E, mode="mean", sparse=True)
        self.fc1 = nn.Linear(E, hidden) if hidden else None
        self.out = nn.Linear(hidden or E, C)

    def forward(self, ids, offsets):
        h = self.bag(ids, offsets)
        if self.fc1 is not None:
            h = F.relu(self.fc1(h))
        return self.out(h)


def make_model(hidden, seed):
    torch.manual_seed(seed)
    m = NGram(hidden)
    with torch.no_grad():
        m.bag.weight[:V].uniform_(-0.25, 0.25)
        m.bag.weight[0].zero_()
        m.bag.weight[V:].uniform_(-1.0 / E, 1.0 / E)
        for p in m.parameters():
            p.copy_(f32(p))
    return m


def hftc_tensors(m, grads=False):
    """name -> tensor in hftc's names and layouts (values, or gradients with grads=True)."""
    get = tensor_getter(grads)
    table = get(m.bag.weight)
    return {"embedding.weight": table[:V], "ngram.buckets": table[V:], **head_tensors(m, get)}


golden = GoldenFile()
add = golden.add


def variant(prefix, hidden, head, seed, lengths, adam=False):
    m = make_model(hidden, seed)
    tokens, lengths = batch(seed + 1, lengths, V, T, first_id=1, unk_at=(1, 3))
    targets, pos_weight, loss_fn, probs_of = head_targets(head, seed + 2, B, C)
    ids, offsets, bigrams = bags(tokens, lengths)

    golden.add_variant(prefix, [V, E, BUCKETS, hidden, C, B, T], {"bigram_ids": bigrams},
                       (tokens, lengths, targets, pos_weight), hftc_tensors(m))
    logits = m(ids, offsets)
    golden.add_pass(prefix, logits, loss_fn(logits, targets), probs_of, lambda: hftc_tensors(m, grads=True))

    if not adam:
        return
    m = make_model(hidden, seed)
    sparse = torch.optim.SparseAdam([m.bag.weight], lr=0.01)
    dense = torch.optim.Adam(list(m.fc1.parameters()) + list(m.out.parameters()), lr=0.005)
    losses = optimise([sparse, dense], lambda: loss_fn(m(ids, offsets), targets), 3)
    add(prefix + "adam.lr", [0.01, 0.005])
    add(prefix + "adam.loss", losses)
    golden.add_tensors(prefix + "adam.", hftc_tensors(m))

    m = make_model(hidden, seed)
    sgd = torch.optim.SGD(m.parameters(), lr=0.05)
    summed = B * C  # BCEWithLogitsLoss averages over the batch and the outputs
    losses = optimise([sgd], lambda: loss_fn(m(ids, offsets), targets) * summed, 3)
    add(prefix + "sgd.lr", [0.05])
    add(prefix + "sgd.loss", [loss / summed for loss in losses])
    golden.add_tensors(prefix + "sgd.", hftc_tensors(m))


variant("sigmoid.", 12, "sigmoid", seed=1, lengths=[10, 7, 2, 1], adam=True)
variant("softmax.", 0, "softmax", seed=2, lengths=[9, 4, 0, 3])

golden.write("ngram.golden")
