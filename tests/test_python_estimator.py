#!/usr/bin/python3
"""Tests for hftc.HierarchicalClassifier (python/hftc/estimator.py), scikit-learn's style over the bindings: fit on
texts and label sets (a taxonomy completing the leaves with their parent), predict / predict_proba as NumPy arrays
in classes_ order agreeing with Model, score as `hftc test` computes it, save / load predicting the same, the
parameter protocol as Debian's scikit-learn uses it (clone, get_params / set_params), a progress callback, and the
errors. Run by ctest with Debian's python3 (NumPy, scikit-learn), HFTC_LIBRARY and HFTC_BIN set."""
import json
import os
import random
import subprocess
import sys
import tempfile

import numpy as np
from sklearn.base import clone

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import hftc  # noqa: E402
from checks import check, finish  # noqa: E402


def make_data(n, rng):
    words = {"sport": "team match goal score player coach cup league".split(),
             "science": "atom cell gene energy theory experiment light protein".split()}
    common = "the a of and in with".split()
    texts, labels = [], []
    for _ in range(n):
        label = rng.choice(["sport", "science"])
        texts.append(" ".join(rng.choice(words[label] + common) for _ in range(8)))
        labels.append([label])  # the leaf alone: the taxonomy adds "topic"
    return texts, labels


def main():
    rng = random.Random(3)
    train_texts, train_labels = make_data(300, rng)
    valid_texts, valid_labels = make_data(60, rng)
    test_texts, test_labels = make_data(100, rng)
    with tempfile.TemporaryDirectory() as tmp:
        taxonomy = os.path.join(tmp, "taxonomy.tsv")
        with open(taxonomy, "w") as f:
            f.write("Root\ttopic\ntopic\tsport\tscience\n")
        clf = hftc.HierarchicalClassifier(preset="linear", taxonomy=taxonomy, threads=1, linear_c=[1, 10])
        try:
            clf.predict(["x"])
            check(False, "an unfitted classifier predicted")
        except hftc.HftcError as e:
            check("not fitted" in str(e), f"unfitted: {e}")
        check(clf.fit(train_texts, train_labels, valid=(valid_texts, valid_labels)) is clf, "fit returns self")
        check(sorted(clf.classes_) == ["science", "sport", "topic"], f"classes_ {clf.classes_}")
        proba = clf.predict_proba(test_texts)
        decided = clf.predict(test_texts)
        check(proba.shape == (100, 3) and proba.dtype == np.float32 and ((proba >= 0) & (proba <= 1)).all(),
              f"predict_proba {proba.shape} {proba.dtype}")
        check(decided.shape == (100, 3) and set(np.unique(decided)) <= {0, 1}, f"predict {decided.shape}")
        topic = clf.classes_.index("topic")
        check(decided[:, topic].all(), "every decision holds the parent")
        names = clf.predict_labels(test_texts[:5])
        check(all(set(n) == {clf.classes_[j] for j in np.flatnonzero(decided[i])} for i, n in enumerate(names)),
              f"predict_labels {names}")
        score = clf.score(test_texts, test_labels)
        check(score > 0.9, f"score {score}")

        # the same model file as Model reads it; save / load predict the same bits
        saved = os.path.join(tmp, "clf.hftc")
        clf.save(saved)
        with hftc.Model(saved, threads=1) as model:
            rows = np.array(model.probabilities(test_texts), dtype=np.float32)
            order = [model.labels.index(c) for c in clf.classes_]
            check(np.array_equal(rows[:, order], proba), "Model's probabilities differ")
        loaded = hftc.HierarchicalClassifier.load(saved, threads=1)
        check(loaded.classes_ == clf.classes_ and np.array_equal(loaded.predict_proba(test_texts), proba),
              "a loaded classifier predicts otherwise")

        # scikit-learn's parameter protocol: clone keeps every parameter (options included), unfitted
        twin = clone(clf)
        check(twin.get_params() == clf.get_params() and twin.get_params()["linear_c"] == [1, 10],
              f"clone: {twin.get_params()}")
        try:
            twin.predict_proba(["x"])
            check(False, "a clone came fitted")
        except hftc.HftcError:
            pass
        twin.set_params(linear_c=[10], seed=2)
        check(twin.get_params()["linear_c"] == [10] and twin.seed == 2, "set_params")
        check("linear_c=[10]" in repr(twin), repr(twin))

        # a neural preset with a progress callback: one call per epoch
        epochs = []
        neural = hftc.HierarchicalClassifier(preset="ngram", taxonomy=taxonomy, threads=1, dim=8, buckets=1000,
                                             epochs=3, progress=epochs.append)
        neural.fit(train_texts, train_labels, valid=(valid_texts, valid_labels))
        check([e["epoch"] for e in epochs] == [1, 2, 3] and all("valid_micro_f1" in e for e in epochs),
              f"progress: {epochs}")

        # learn: more documents, from the fitted weights; the same labels, still right
        more_texts, more_labels = make_data(200, rng)
        check(clf.learn(more_texts, more_labels, valid=(valid_texts, valid_labels)) is clf, "learn returns self")
        check(sorted(clf.classes_) == ["science", "sport", "topic"], f"classes_ after learn {clf.classes_}")
        check(clf.score(test_texts, test_labels) > 0.9, "score after learn")
        clf.save(saved)
        info = json.loads(subprocess.run([os.environ["HFTC_BIN"], "info", "--model", saved, "--json"],
                                         capture_output=True, text=True).stdout)
        check([e["kind"] for e in info["training"]["history"]] == ["learn"], "the record's history")

        # extend: a new category "art" under "topic"; the flat network's old outputs stay as they were (their
        # weights are kept), the new column comes after them
        wider = os.path.join(tmp, "wider.tsv")
        with open(wider, "w") as f:
            f.write("Root\ttopic\ntopic\tsport\tscience\tart\n")
        art = ["paint canvas museum sculpture gallery artist the a of".split()[i % 9] + " " +
               " ".join(rng.choice("paint canvas museum sculpture gallery artist".split()) for _ in range(7))
               for i in range(80)]
        before = neural.predict_proba(test_texts)
        old_classes = list(neural.classes_)
        neural.extend(wider, art + train_texts[:80], [["art"]] * 80 + train_labels[:80])
        check(neural.classes_[:len(old_classes)] == old_classes and neural.classes_[len(old_classes):] == ["art"],
              f"classes_ after extend {neural.classes_}")
        after = neural.predict_proba(test_texts)
        check(after.shape == (100, 4) and np.array_equal(after[:, :3], before), "extend moved the old outputs")
        check(neural.taxonomy == wider, "extend records the taxonomy")

        # bad input: an option the library refuses (before training), labels hftc's files cannot hold
        for kwargs, labels, error in (({"epochs": -1, "preset": "ngram"}, train_labels, hftc.HftcOptionError),
                                      ({}, [["a,b"]] + train_labels[1:], ValueError),
                                      ({}, [[]] + train_labels[1:], ValueError),
                                      ({}, train_labels[:-1], ValueError)):
            try:
                hftc.HierarchicalClassifier(threads=1, **kwargs).fit(train_texts, labels)
                check(False, f"fit with {kwargs} ran")
            except error:
                pass


if __name__ == "__main__":
    main()
    finish("estimator")
