#!/usr/bin/env python3
"""hftc's linear family beside scikit-learn on the same features, side by side.

For each dataset directory (train.tsv, valid.tsv, test.tsv, taxonomy.tsv): `hftc train --preset linear`
(TF-IDF of words and bigrams, min_df 2, sublinear tf; one-vs-rest logistic regression by liblinear over every
label of the ancestor-closed sets, C in {1, 10, 100} and one threshold chosen on validation), and
scikit-learn's TfidfVectorizer + OneVsRestClassifier(LogisticRegression(solver="liblinear")) on the same
tokens (hftc's tokeniser, `hftc tokens`, so that both read the same words), the same C grid, the same
tolerance and the same threshold search on validation, at the same thread count. Both sides' test
predictions are scored here by one function: micro- and macro-F1 over the labels of the test gold sets,
exact match. Prints one row per dataset and the ratio of the training times (train + C and threshold search;
reading and featurising the text included on both sides).

    bench/linear_sklearn.py --hftc build/release/hftc --threads 2 ../shared/data/rcv1dev ../shared/data/20ng
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import LinearSVC


def read_split(path):
    labels, texts = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                continue
            head, text = line.split("\t", 1)
            labels.append([l.strip() for l in head.split(",") if l.strip()])
            texts.append(text)
    return labels, texts


def hftc_tokens(hftc, texts):
    """hftc's tokens of each text, joined by spaces (the linear preset's tokeniser)."""
    # hftc tokens skips blank lines: a text of none stands as "." (no token either way)
    out = subprocess.run([hftc, "tokens", "--preset", "linear"], input="\n".join(t if t.strip() else "." for t in texts) + "\n",
                         capture_output=True, text=True, check=True).stdout.split("\n")
    return out[:len(texts)]


def scores(gold, predicted):
    """micro-F1, macro-F1 over the labels of the gold sets, exact match."""
    labels = sorted({l for g in gold for l in g})
    index = {l: i for i, l in enumerate(labels)}
    tp = np.zeros(len(labels)); fp = np.zeros(len(labels)); fn = np.zeros(len(labels))
    exact = 0
    for g, p in zip(gold, predicted):
        g, p = set(g), set(p)
        exact += g == p
        for l in g & p:
            tp[index[l]] += 1
        for l in p - g:
            if l in index:
                fp[index[l]] += 1
        for l in g - p:
            fn[index[l]] += 1
    micro = 2 * tp.sum() / max(2 * tp.sum() + fp.sum() + fn.sum(), 1)
    denominator = 2 * tp + fp + fn
    macro = np.mean(np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0))
    return micro, macro, exact / len(gold)


def best_threshold(probs, y):
    """The threshold in 0.05 steps with the best micro-F1 (ties: the one closest to 0.5), as hftc's search."""
    best, best_t = -1.0, 0.5
    for t in sorted(np.arange(1, 20) * 0.05, key=lambda t: abs(t - 0.5)):
        pred = probs >= t
        tp = np.logical_and(pred, y).sum()
        f1 = 2 * tp / max(pred.sum() + y.sum(), 1)
        if f1 > best + 1e-12:
            best, best_t = f1, t
    return best_t, best


def run_sklearn(data, hftc, threads, cs, tol, loss):
    (ytr, ttr), (yva, tva), (yte, tte) = (read_split(os.path.join(data, f + ".tsv")) for f in ("train", "valid", "test"))
    start = time.perf_counter()
    ttr, tva, tte = (hftc_tokens(hftc, t) for t in (ttr, tva, tte))
    vec = TfidfVectorizer(tokenizer=str.split, token_pattern=None, lowercase=False, ngram_range=(1, 2), min_df=2,
                          sublinear_tf=True, dtype=np.float64)
    xtr = vec.fit_transform(ttr)
    xva, xte = vec.transform(tva), vec.transform(tte)
    labels = sorted({l for g in ytr for l in g})
    index = {l: i for i, l in enumerate(labels)}
    def matrix(ys):
        rows = [i for i, g in enumerate(ys) for l in g if l in index]
        cols = [index[l] for g in ys for l in g if l in index]
        return sparse.csr_matrix((np.ones(len(rows), dtype=bool), (rows, cols)), shape=(len(ys), len(labels))).toarray()
    ytr_m, yva_m = matrix(ytr), matrix(yva)
    best = (-1.0, None, None, None)
    for c in cs:
        base = (LogisticRegression(solver="liblinear", C=c, tol=tol) if loss == "logreg"
                else LinearSVC(C=c, tol=tol, dual=False))
        clf = OneVsRestClassifier(base, n_jobs=threads).fit(xtr, ytr_m)
        pva = clf.predict_proba(xva) if loss == "logreg" else 1 / (1 + np.exp(-clf.decision_function(xva)))
        t, f1 = best_threshold(pva, yva_m)
        if f1 > best[0]:
            best = (f1, c, t, clf)
    seconds = time.perf_counter() - start
    f1, c, t, clf = best
    pte = clf.predict_proba(xte) if loss == "logreg" else 1 / (1 + np.exp(-clf.decision_function(xte)))
    predicted = [[labels[j] for j in np.flatnonzero(row >= t)] for row in pte]
    return seconds, c, t, f1, scores(yte, predicted), xtr.shape[1]


def run_hftc(data, hftc, threads, cs, tol, loss, tune_scoring):
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "linear.hftc")
        command = [hftc, "train", "--preset", "linear", "--train", f"{data}/train.tsv", "--valid", f"{data}/valid.tsv",
                   "--taxonomy", f"{data}/taxonomy.tsv", "--output", model, "--threads", str(threads), "--linear-c",
                   ",".join(str(c) for c in cs), "--linear-tolerance", str(tol), "--linear-loss", loss,
                   "--tune-scoring", str(tune_scoring)]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        seconds = time.perf_counter() - start
        info = json.loads(subprocess.run([hftc, "info", "--model", model, "--json"], check=True, capture_output=True,
                                         text=True).stdout)
        training = info["training"]
        out = subprocess.run([hftc, "predict", "--model", model, "--input", f"{data}/test.tsv", "--json"], check=True,
                             capture_output=True, text=True).stdout
        predicted = [json.loads(line)["labels"] for line in out.splitlines() if line.strip()]
        gold, _ = read_split(f"{data}/test.tsv")
        linear = training.get("linear", {})
        valid_f1 = max(r["valid_micro_f1"] for r in linear.get("runs", [{"valid_micro_f1": 0}]))
        return seconds, linear.get("C"), info["config"]["threshold"], valid_f1, scores(gold, predicted), linear.get(
            "features")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="+", help="dataset directories")
    ap.add_argument("--hftc", default="build/release/hftc")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--c", default="1,10,100")
    ap.add_argument("--tolerance", type=float, default=0.01, help="both sides' solver tolerance (liblinear -e)")
    ap.add_argument("--sklearn-tolerance", type=float, default=None,
                    help="scikit-learn's tolerance instead (its LogisticRegression default is 1e-4)")
    ap.add_argument("--tune-scoring", type=int, default=0,
                    help="hftc's --tune-scoring (the preset's 1 keeps the leaf decision on single-path data; 0 "
                         "thresholds, as scikit-learn's side does)")
    ap.add_argument("--loss", choices=["logreg", "svm"], default="logreg")
    args = ap.parse_args()
    cs = [float(c) for c in args.c.split(",")]
    print(f"| dataset | system | C | threshold | valid micro-F1 | test micro-F1 | test macro-F1 | exact | features | "
          f"train s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for data in args.data:
        name = os.path.basename(os.path.normpath(data))
        h = run_hftc(data, args.hftc, args.threads, cs, args.tolerance, args.loss, args.tune_scoring)
        s = run_sklearn(data, args.hftc, args.threads, cs,
                        args.sklearn_tolerance if args.sklearn_tolerance else args.tolerance, args.loss)
        for system, r in (("hftc linear", h), ("scikit-learn", s)):
            seconds, c, t, vf1, (mi, ma, ex), nf = r
            print(f"| {name} | {system} | {c:g} | {t:.2f} | {vf1:.4f} | {mi:.4f} | {ma:.4f} | {ex:.4f} | {nf} | "
                  f"{seconds:.1f} |")
        print(f"| {name} | ratio | | | | {h[4][0] - s[4][0]:+.4f} | {h[4][1] - s[4][1]:+.4f} | | | "
              f"{s[0] / h[0]:.2f}x faster |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
