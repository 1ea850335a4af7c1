"""The timing the PyTorch references share (torch_cnn.py, torch_gru.py, torch_onlstm.py), the way
bench_network times hftc: one warm-up training step, then iters timed steps; in eval mode without
gradients one warm-up batch, infer_iters (default iters) timed batches and n_single timed one-document calls. Returns the
figures bench/run reads."""
import argparse
import resource
import time

import torch


def parse_args(defaults, extra=None):
    """The arguments the encoder benchmarks share (--threads, --batch, --len, --classes, --vocab, --dim,
    --iters, --infer-iters, --seed), with each script's defaults; extra(ap) adds its own. Sets torch's
    threads and seed from them."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    for name in ("batch", "len", "classes", "vocab", "dim"):
        ap.add_argument("--" + name, type=int, default=defaults[name])
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--infer-iters", type=int, default=0, help="inference batches (0: --iters)")
    ap.add_argument("--seed", type=int, default=1)
    if extra:
        extra(ap)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    return a


def adam_steps(model, loss_of):
    """A train_step for measure: one Adam step (lr 1e-3, hftc's default) on the loss loss_of() returns."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def train_step():
        opt.zero_grad()
        loss = loss_of()
        loss.backward()
        opt.step()
        return loss

    return train_step


def measure(model, train_step, predict, predict_one, batch, iters, n_single=50, infer_iters=0):
    """train_step() runs one optimiser step and returns the loss; predict() and predict_one() return
    probabilities for the batch and for one document."""
    model.train()
    train_step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(iters):
        loss = train_step()
    train_s = time.perf_counter() - t0

    model.eval()
    with torch.no_grad():
        predict()
        t0 = time.perf_counter()
        infer_iters = infer_iters or iters
        for _ in range(infer_iters):
            probs = predict()
        infer_s = time.perf_counter() - t0
        predict_one()
        t0 = time.perf_counter()
        for _ in range(n_single):
            predict_one()
        latency_s = (time.perf_counter() - t0) / n_single
    return {
        "system": "pytorch " + torch.__version__,
        "last_loss": float(loss),
        "probs_ok": bool(torch.isfinite(probs).all()),
        "train_docs_per_s": batch * iters / train_s,
        "infer_docs_per_s": batch * infer_iters / infer_s,
        "latency_ms": latency_s * 1e3,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
