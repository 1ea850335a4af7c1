#!/usr/bin/python3
"""PyTorch reference of the HFT-CNN recipe, to compare hftc's accuracy on the same split and seeds:
one Kim CNN per taxonomy level over the level's categories present in the training data; level k
starts from level k-1's trained embedding and convolutions (--transfer 0: WoFT); 300-d embeddings
uniform(-0.25, 0.25), windows 2/3/4 x 128, FC 1024, dropout .25/.5, BCE, Adam 1e-3, batch 100,
early stopping on validation loss (patience 3, best weights), threshold 0.5, BSF scoring. Texts are
lower-cased and split on non-word characters (as hftc's defaults), padded to --max-len with id 0.
Prints one JSON object with test micro/macro-F1 and the training time.

    /usr/bin/python3 bench/torch_hft_cnn.py --data ../shared/data/amazon --seed 1 --threads 1

Needs Debian's python3-torch (scripts/setup.sh --dev)."""
import argparse
import collections
import copy
import json
import re
import time

import torch
import torch.nn.functional as F

from torch_cnn import KimCNN  # the same model the speed benchmark times


def read(path):
    docs = []
    for line in open(path, encoding="utf-8"):
        labels, text = line.rstrip("\n").split("\t", 1)
        docs.append((labels.split(","), re.findall(r"\w+", text.lower())))
    return docs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-len", type=int, default=13)
    ap.add_argument("--transfer", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    train, valid, test = (read(f"{a.data}/{s}.tsv") for s in ("train", "valid", "test"))
    parent = {}
    for line in open(f"{a.data}/taxonomy.tsv", encoding="utf-8"):
        fields = line.rstrip("\n").split("\t")
        for child in fields[1:]:
            parent[child] = fields[0]

    def level(label):
        n = 0
        while label in parent and label != "Root":
            label, n = parent[label], n + 1
        return n

    vocab = {"<pad>": 0, "<unk>": 1}
    for _, words in train:
        for w in words:
            vocab.setdefault(w, len(vocab))

    def tensor(docs):
        ids = torch.zeros(len(docs), a.max_len, dtype=torch.long)
        for i, (_, words) in enumerate(docs):
            for t, w in enumerate(words[: a.max_len]):
                ids[i, t] = vocab.get(w, 1)
        return ids

    X = {"train": tensor(train), "valid": tensor(valid), "test": tensor(test)}
    seen = sorted({l for labels, _ in train for l in labels})
    by_level = collections.defaultdict(list)
    for l in seen:
        by_level[level(l)].append(l)
    scores = {}  # label -> test probabilities (n_test)
    t0 = time.perf_counter()
    previous = None
    epochs_run = []  # per level, as hftc's log reports them
    for lv in sorted(by_level):
        labels = by_level[lv]
        index = {l: j for j, l in enumerate(labels)}

        def targets(docs):
            y = torch.zeros(len(docs), len(labels))
            for i, (ls, _) in enumerate(docs):
                for l in ls:
                    if l in index:
                        y[i, index[l]] = 1.0
            return y

        Y, Yv = targets(train), targets(valid)
        model = KimCNN(len(vocab), 300, (2, 3, 4), 128, 1024, len(labels), embed_bound=0.25)
        if a.transfer and previous is not None:
            model.embedding.load_state_dict(previous.embedding.state_dict())
            model.convs.load_state_dict(previous.convs.state_dict())
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        best, best_state, since = float("inf"), None, 0
        for epoch in range(40):
            model.train()
            order = torch.randperm(len(train))
            for s in range(0, len(train), 100):
                idx = order[s : s + 100]
                opt.zero_grad()
                F.binary_cross_entropy_with_logits(model(X["train"][idx]), Y[idx]).backward()
                opt.step()
            model.eval()
            with torch.no_grad():
                loss = F.binary_cross_entropy_with_logits(model(X["valid"]), Yv).item()
            if loss < best:
                best, best_state, since = loss, copy.deepcopy(model.state_dict()), 0
            else:
                since += 1
                if since >= 3:
                    break
        epochs_run.append(epoch + 1)
        model.load_state_dict(best_state)
        model.eval()
        with torch.no_grad():
            p = torch.sigmoid(model(X["test"]))
        for l, j in index.items():
            scores[l] = p[:, j]
        previous = model
    seconds = time.perf_counter() - t0
    # BSF: a category's score is the minimum of its probability and its parent's score.
    for l in sorted(scores, key=level):
        if parent.get(l, "Root") != "Root":
            scores[l] = torch.minimum(scores[l], scores.get(parent[l], torch.zeros_like(scores[l])))
    tp, fp, fn = collections.Counter(), collections.Counter(), collections.Counter()
    for i, (gold, _) in enumerate(test):
        gold = set(gold)
        pred = {l for l, s in scores.items() if s[i] >= 0.5}
        for l in pred & gold:
            tp[l] += 1
        for l in pred - gold:
            fp[l] += 1
        for l in gold - pred:
            fn[l] += 1
    T, P, N = sum(tp.values()), sum(fp.values()), sum(fn.values())
    gold_labels = {l for gold, _ in test for l in gold}
    macro = sum(2 * tp[l] / (2 * tp[l] + fp[l] + fn[l]) for l in gold_labels) / len(gold_labels)
    print(json.dumps({"seed": a.seed, "transfer": a.transfer, "micro_f1": 2 * T / (2 * T + P + N),
                      "macro_f1": macro, "train_seconds": seconds, "threads": a.threads,
                      "epochs": epochs_run}))


if __name__ == "__main__":
    main()
