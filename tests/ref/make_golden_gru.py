#!/usr/bin/python3
"""Writes tests/golden/gru.golden, read by tests/test_golden_gru.c: a PyTorch BiGRU + attention network
built to be identical to hftc's bigru-att network (src/model/encoder_bigru.c, src/nn/gru.c,
src/nn/attention.c), its inputs, weights, outputs, loss and every parameter gradient.

Run from anywhere with Debian's /usr/bin/python3 (torch 1.13); the output is deterministic.
The model runs in float64 from float32-representable weights, so the reference is exact to double
precision and the C test measures only its own float32 rounding.

Model: tests/ref/torch_bigru_att.py (the network bench/torch_gru.py times), dropout 0, the GRU on
pack_padded_sequence input; its parameter names are hftc's tensor names and so are the layouts: the
C test loads every tensor by name and shape, which checks that hftc's GRU keeps torch's (3H, .) gate
blocks in the order r, z, n. Variants:
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_file import GoldenFile, batch, f32, head_targets  # noqa: E402
from torch_bigru_att import BiGRUAtt  # noqa: E402

torch.set_default_dtype(torch.float64)

V, E, C, B, T = 30, 8, 5, 4, 9


def make_model(H, A, hidden, seed):
    torch.manual_seed(seed)
    m = BiGRUAtt(V, E, H, A, hidden, C)
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
