"""What the golden-file generators (make_golden_*.py) share: the HFTCGLD1 writer, read by tests/golden.h,
and the pieces of a variant that are the same for every network: the batch of token ids, the targets
and loss of a head, float32 rounding.

File format (all little-endian): the 8 bytes "HFTCGLD1", a uint32 record count, then per record a
uint32 name length, the name (ASCII, no terminator), a uint32 ndim, ndim uint32 dims, and
prod(dims) float64 values. Integers (tokens, lengths, sizes) are stored as exact float64.

The generators import this module from their own directory (they put it on sys.path), so they run
from any working directory."""
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class GoldenFile:
    """The records of a golden file, in the order they are added."""

    def __init__(self):
        self.records = []

    def add(self, name, value):
        self.records.append((name, np.array(value, dtype=np.float64)))  # a copy: torch tensors share memory

    def add_inputs(self, prefix, tokens, lengths, targets, pos_weight):
        """The inputs of a variant: tokens, lengths, targets and pos_weight."""
        for name, t in (("tokens", tokens), ("lengths", lengths), ("targets", targets), ("pos_weight", pos_weight)):
            self.add(prefix + name, t.numpy())

    def add_tensors(self, prefix, tensors):
        """Each tensor of a dict name -> tensor as the record prefix + name."""
        for name, t in tensors.items():
            self.add(prefix + name, t.numpy())

    def add_variant(self, prefix, config, extra, inputs, weights):
        """A variant's "config", its other records (a dict name -> values), its inputs (tokens, lengths, targets,
        pos_weight) and its weights (a dict name -> tensor)."""
        self.add(prefix + "config", config)
        for name, values in extra.items():
            self.add(prefix + name, values)
        self.add_inputs(prefix, *inputs)
        self.add_tensors(prefix, weights)

    def add_pass(self, prefix, logits, loss, probs_of, grads_of):
        """A forward pass's probabilities and loss, then after the backward pass its gradients: grads_of() is a dict
        name -> gradient, recorded as grad.<name>."""
        loss.backward()
        self.add(prefix + "probs", probs_of(logits).detach().numpy())
        self.add(prefix + "loss", [loss.item()])
        self.add_tensors(prefix + "grad.", grads_of())

    def add_network_passes(self, prefix, m, tokens, lengths, targets, loss_fn, probs_of):
        """A network's weights (every parameter, and m.bn's running statistics where m.bn is not None), then "probs" and
        "loss" in eval mode, then one training-mode pass: "train_loss", every "grad.", and the running statistics it
        leaves ("after.bn.running_mean", "after.bn.running_var")."""
        bn = [("bn.running_mean", lambda: m.bn.running_mean), ("bn.running_var", lambda: m.bn.running_var)]
        bn = bn if getattr(m, "bn", None) is not None else []
        for name, p in m.named_parameters():
            self.add(prefix + name, p.detach().numpy())
        for name, get in bn:
            self.add(prefix + name, get().numpy())
        m.eval()
        with torch.no_grad():
            logits = m(tokens, lengths)
        self.add(prefix + "probs", probs_of(logits).numpy())
        self.add(prefix + "loss", [loss_fn(logits, targets).item()])
        m.train()
        loss = loss_fn(m(tokens, lengths), targets)
        loss.backward()
        self.add(prefix + "train_loss", [loss.item()])
        for name, p in m.named_parameters():
            self.add(prefix + "grad." + name, p.grad.numpy())
        for name, get in bn:
            self.add(prefix + "after." + name, get().numpy())

    def write(self, filename):
        """Writes tests/golden/<filename> and says so."""
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden", filename)
        with open(path, "wb") as f:
            f.write(b"HFTCGLD1")
            f.write(struct.pack("<I", len(self.records)))
            for name, a in self.records:
                f.write(struct.pack("<I", len(name)) + name.encode("ascii"))
                f.write(struct.pack("<I", a.ndim) + struct.pack(f"<{a.ndim}I", *a.shape))
                f.write(a.astype("<f8").tobytes())
        print(f"wrote {os.path.normpath(path)}: {len(self.records)} records, {os.path.getsize(path)} bytes")


def f32(t):
    """Rounds a tensor to float32 values (kept in float64)."""
    return t.float().double()


def init_recurrent(m, rnn):
    """The weights of the recurrent golden networks (make_golden_onlstm.py, make_golden_lstm.py): m.embedding
    uniform(-1, 1) with row 0 zero and rnn's parameters uniform(-0.9, 0.9), away from the linear regime so that every
    gradient is visible; m.bn's (where not None) gamma, beta and running statistics away from (1, 0, 0, 1), so that
    inference shows using them; everything rounded to float32."""
    with torch.no_grad():
        m.embedding.weight.uniform_(-1, 1)
        m.embedding.weight[0].zero_()
        for p in rnn.parameters():
            p.uniform_(-0.9, 0.9)
        if getattr(m, "bn", None) is not None:
            m.bn.weight.uniform_(0.5, 1.5)
            m.bn.bias.uniform_(-0.5, 0.5)
            m.bn.running_mean.uniform_(-0.5, 0.5)
            m.bn.running_var.uniform_(0.2, 2.0)
        for p in list(m.parameters()) + list(m.buffers()):
            if p.is_floating_point():
                p.copy_(f32(p))


def tensor_getter(grads):
    """A parameter's value, or with grads=True its gradient (a sparse one made dense)."""
    return (lambda p: p.grad.to_dense() if p.grad.is_sparse else p.grad) if grads else (lambda p: p.detach())


def head_tensors(m, get):
    """hftc's names of the head's layers m.fc1 (None: no hidden layer) and m.out -> get(parameter)."""
    out = {}
    if m.fc1 is not None:
        out["fc1.weight"], out["fc1.bias"] = get(m.fc1.weight), get(m.fc1.bias)
    out["out.weight"], out["out.bias"] = get(m.out.weight), get(m.out.bias)
    return out


def optimise(optimisers, loss_of, steps, after_backward=None):
    """steps of each optimiser on the loss loss_of() computes, after_backward(step) (if given) between the backward
    pass and the steps; returns the losses."""
    losses = []
    for step in range(steps):
        for o in optimisers:
            o.zero_grad()
        loss = loss_of()
        loss.backward()
        if after_backward:
            after_backward(step)
        for o in optimisers:
            o.step()
        losses.append(loss.item())
    return losses


def batch(seed, lengths, V, T, first_id, unk_at):
    """Token ids (len(lengths), T) drawn from [first_id, V) with a generator seeded seed, <unk> (1) at
    unk_at = (document, position), word 1 of document 0 repeated at position 5 (its gradient rows are
    summed), <pad> (0) past each length; and the lengths as a tensor."""
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(first_id, V, (len(lengths), T), generator=g)
    tokens[unk_at] = 1
    tokens[0, 5] = tokens[0, 1]
    for b, L in enumerate(lengths):
        tokens[b, L:] = 0
    return tokens, torch.tensor(lengths)


def head_targets(head, seed, B, C):
    """(targets, pos_weight, loss_fn, probs_of) for head "sigmoid" (random multi-hot targets,
    BCEWithLogitsLoss with a float32 pos_weight) or "softmax" (one-hot targets, cross entropy, pos_weight
    all ones), drawn from a generator seeded seed."""
    g = torch.Generator().manual_seed(seed)
    if head == "sigmoid":
        targets = (torch.rand(B, C, generator=g) < 0.35).double()
        pos_weight = f32(torch.rand(C, generator=g) * 4 + 0.5)
        return targets, pos_weight, nn.BCEWithLogitsLoss(pos_weight=pos_weight), torch.sigmoid
    labels = torch.randint(0, C, (B,), generator=g)
    targets = F.one_hot(labels, C).double()
    loss_fn = lambda logits, t: F.cross_entropy(logits, t.argmax(1))  # noqa: E731
    return targets, torch.ones(C), loss_fn, lambda z: torch.softmax(z, 1)
