#!/usr/bin/env python3
"""hftc's ngram encoder beside Debian's fastText (`fasttext supervised`), side by side.

For each dataset directory (train.tsv, valid.tsv, test.tsv, taxonomy.tsv), both read the same tokens
(hftc's tokeniser, `hftc tokens --preset ngram`, the first 500 of each document as the preset keeps) with
the same dimension (100), word bigrams, bucket count, epochs and threads, one-vs-all sigmoid outputs over
every label of the ancestor-closed sets (fastText's -loss ova):

  fastText: fasttext supervised -dim 100 -wordNgrams 2 -bucket B -epoch E -loss ova -minCount 1 -thread T
            (its SGD at -lr 0.1 decaying to 0), test labels at probability 0.5 (its predict-prob's default
            use, the data README's baseline) and at the threshold best on validation, as hftc chooses one
  hftc:     hftc train --preset ngram --buckets B --epochs E --patience E (every epoch runs) --tune-threshold 1

Training speed is words per second per thread over the training epochs (fastText's own measure: the
tokens read, including the bigrams' words once, per second of training, divided by the threads); hftc's
from its record's epoch times (which include its validation pass: a bound from below). Test figures are
scored here by one function for both: micro- and macro-F1 over the labels of the test gold sets.

    bench/ngram_fasttext.py --hftc build/release/hftc --threads 2 --epochs 10 ../shared/data/rcv1dev
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from linear_sklearn import best_threshold, hftc_tokens, read_split, scores  # noqa: E402

MAX_LEN = 500


def write_fasttext(path, labels, tokens):
    with open(path, "w", encoding="utf-8") as f:
        for ls, t in zip(labels, tokens):
            words = t.split()[:MAX_LEN]
            f.write(" ".join("__label__" + l for l in ls) + " " + " ".join(words) + "\n")
    return sum(min(len(t.split()), MAX_LEN) for t in tokens)


def fasttext_probs(model, path, labels):
    """Every label's probability for each line of path (fastText's predict-prob with k = all)."""
    out = subprocess.run(["fasttext", "predict-prob", model, path, str(len(labels)), "0"], check=True,
                         capture_output=True, text=True).stdout.splitlines()
    index = {l: i for i, l in enumerate(labels)}
    probs = np.zeros((len(out), len(labels)))
    for i, line in enumerate(out):
        parts = line.split()
        for name, p in zip(parts[0::2], parts[1::2]):
            name = name[len("__label__"):]
            if name in index:
                probs[i, index[name]] = float(p)
    return probs


def run_fasttext(data, hftc, threads, epochs, buckets, tmp):
    splits = {f: read_split(os.path.join(data, f + ".tsv")) for f in ("train", "valid", "test")}
    paths, words = {}, 0
    for f, (ls, texts) in splits.items():
        paths[f] = os.path.join(tmp, f + ".ft")
        n = write_fasttext(paths[f], ls, hftc_tokens(hftc, texts))
        words = n if f == "train" else words
    model = os.path.join(tmp, "ft")
    start = time.perf_counter()
    run = subprocess.run(["fasttext", "supervised", "-input", paths["train"], "-output", model, "-dim", "100",
                          "-wordNgrams", "2", "-bucket", str(buckets), "-epoch", str(epochs), "-loss", "ova",
                          "-minCount", "1", "-thread", str(threads), "-verbose", "2"], check=True,
                         capture_output=True, text=True)
    seconds = time.perf_counter() - start
    reported = re.findall(r"words/sec/thread:\s*(\d+)", run.stderr + run.stdout)
    labels = sorted({l for g in splits["train"][0] for l in g})
    index = {l: i for i, l in enumerate(labels)}
    valid = fasttext_probs(model + ".bin", paths["valid"], labels)
    yva = np.zeros_like(valid, dtype=bool)
    for i, g in enumerate(splits["valid"][0]):
        for l in g:
            if l in index:
                yva[i, index[l]] = True
    t, _ = best_threshold(valid, yva)
    test = fasttext_probs(model + ".bin", paths["test"], labels)
    at_half = scores(splits["test"][0], [[labels[j] for j in np.flatnonzero(r >= 0.5)] for r in test])
    tuned = scores(splits["test"][0], [[labels[j] for j in np.flatnonzero(r >= t)] for r in test])
    speed = int(reported[-1]) if reported else words * epochs / seconds / threads
    return seconds, speed, at_half, tuned, t


def run_hftc(data, hftc, threads, epochs, buckets, tmp):
    model = os.path.join(tmp, "ngram.hftc")
    start = time.perf_counter()
    subprocess.run([hftc, "train", "--preset", "ngram", "--train", f"{data}/train.tsv", "--valid", f"{data}/valid.tsv",
                    "--taxonomy", f"{data}/taxonomy.tsv", "--output", model, "--threads", str(threads), "--buckets",
                    str(buckets), "--epochs", str(epochs), "--patience", str(epochs), "--tune-threshold", "1"],
                   check=True, capture_output=True)
    seconds = time.perf_counter() - start
    info = json.loads(subprocess.run([hftc, "info", "--model", model, "--json"], check=True, capture_output=True,
                                     text=True).stdout)
    part = info["training"]["parts"][0]
    epoch_seconds = sum(e["seconds"] for e in part["epochs"])
    _, texts = read_split(f"{data}/train.tsv")
    words = sum(min(len(t.split()), MAX_LEN) for t in hftc_tokens(hftc, texts))
    out = subprocess.run([hftc, "predict", "--model", model, "--input", f"{data}/test.tsv", "--json"], check=True,
                         capture_output=True, text=True).stdout
    predicted = [json.loads(line)["labels"] for line in out.splitlines() if line.strip()]
    gold, _ = read_split(f"{data}/test.tsv")
    speed = words * len(part["epochs"]) / epoch_seconds / threads
    return seconds, speed, scores(gold, predicted), info["config"]["threshold"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="+")
    ap.add_argument("--hftc", default="build/release/hftc")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--buckets", type=int, default=1000000)
    args = ap.parse_args()
    print("| dataset | system | threshold | test micro-F1 | test macro-F1 | exact | words/s/thread | train s |")
    print("|---|---|---|---|---|---|---|---|")
    for data in args.data:
        name = os.path.basename(os.path.normpath(data))
        with tempfile.TemporaryDirectory() as tmp:
            f = run_fasttext(data, args.hftc, args.threads, args.epochs, args.buckets, tmp)
            h = run_hftc(data, args.hftc, args.threads, args.epochs, args.buckets, tmp)
        fs, fspeed, (fmi, fma, fex), (tmi, tma, tex), ft = f
        hs, hspeed, (hmi, hma, hex_), ht = h
        print(f"| {name} | fastText | 0.50 | {fmi:.4f} | {fma:.4f} | {fex:.4f} | {fspeed:,.0f} | {fs:.1f} |")
        print(f"| {name} | fastText | {ft:.2f} (valid) | {tmi:.4f} | {tma:.4f} | {tex:.4f} | | |")
        print(f"| {name} | hftc ngram | {ht:.2f} (valid) | {hmi:.4f} | {hma:.4f} | {hex_:.4f} | {hspeed:,.0f} | {hs:.1f} |")
        print(f"| {name} | ratio | | | | | {hspeed / fspeed:.2f}x | |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
