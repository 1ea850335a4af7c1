#!/usr/bin/python3
"""Tests for the Python bindings (python/hftc/): train small models in-process through them (without the
hftc command), predict in-process and check the predictions against `hftc predict --json` on the same texts,
the probabilities against the scores, evaluation through `hftc test`, an ensemble (`hftc ensemble`) loaded and
predicting like any model, and the errors (training options
refused before any training). Run by ctest with HFTC_LIBRARY and HFTC_BIN set."""
import concurrent.futures
import json
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import hftc  # noqa: E402
from checks import check, finish  # noqa: E402


def write_data(path, n, rng):
    """Two topics with their own words, under one parent: "topic" > "sport", "science"."""
    words = {"sport": "team match goal score player coach cup league".split(),
             "science": "atom cell gene energy theory experiment light protein".split()}
    common = "the a of and in with".split()
    with open(path, "w") as f:
        for _ in range(n):
            label = rng.choice(["sport", "science"])
            text = " ".join(rng.choice(words[label] + common) for _ in range(8))
            f.write(f"{label}\t{text}\n")


# Thread 1 predicts 5,000 texts while thread 2 closes the model after 0-5 ms, 100 times (issue 25): close()
# waits for the running call, which ends with its answers, or the call finds the model closed and raises.
# In a child interpreter, so that a crash (a model freed under a running prediction) fails the check.
_CLOSE_DURING_PREDICT = """
import random, sys, threading, time
sys.path.insert(0, sys.argv[1])
import hftc
sys.setswitchinterval(1e-5)  # threads trade the interpreter often: the race is met in every run, not by chance
rng = random.Random(5)
words = "team match goal atom cell theory the a of and".split()
texts = [" ".join(rng.choice(words) for _ in range(12)) for _ in range(5000)]
outcomes = {"answered": 0, "closed": 0}
for i in range(100):
    model = hftc.Model(sys.argv[2], threads=1)
    method = model.predict if i % 2 else model.probabilities
    def work():
        try:
            outcomes["answered"] += len(method(texts)) == 5000
        except hftc.HftcError as e:
            assert "closed" in str(e), repr(e)
            outcomes["closed"] += 1
    worker = threading.Thread(target=work)
    worker.start()
    time.sleep(rng.uniform(0, 0.005))
    model.close()
    worker.join()
    for call in (lambda: model.predict(texts[:1]), lambda: model.probabilities(texts[:1])):
        try:
            call()
            raise AssertionError("a closed model answered")
        except hftc.HftcError as e:
            assert "closed" in str(e), repr(e)
    model.close()  # again: nothing to do
print(outcomes["answered"], outcomes["closed"])
"""


def check_close_during_predict(model_path):
    try:
        done = subprocess.run([sys.executable, "-c", _CLOSE_DURING_PREDICT, os.path.dirname(os.path.dirname(hftc.__file__)),
                               model_path], capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        check(False, "close() during predict: no end within 600 s")
        return
    counts = done.stdout.split()
    check(done.returncode == 0 and len(counts) == 2 and int(counts[0]) + int(counts[1]) == 100,
          f"close() during predict: exit status {done.returncode}: {done.stdout}{done.stderr[-2000:]}")


def main():
    rng = random.Random(3)
    with tempfile.TemporaryDirectory() as tmp:
        train_path, valid_path, test_path = (os.path.join(tmp, f) for f in ("train.tsv", "valid.tsv", "test.tsv"))
        write_data(train_path, 300, rng)
        write_data(valid_path, 60, rng)
        write_data(test_path, 60, rng)
        taxonomy = os.path.join(tmp, "taxonomy.tsv")
        with open(taxonomy, "w") as f:
            f.write("Root\ttopic\ntopic\tsport\tscience\n")
        model_path = os.path.join(tmp, "model.hftc")
        # training needs no hftc command: none where HFTC_BIN points, and finding one fails the test
        command, hftc_bin = hftc._command, os.environ["HFTC_BIN"]
        hftc._command = lambda: check(False, "hftc.train looked for the hftc command")
        os.environ["HFTC_BIN"] = os.path.join(tmp, "no-hftc-here")
        log = hftc.train(model_path, train=train_path, valid=valid_path, taxonomy=taxonomy, preset="flat-cnn",
                         dim=16, filters=8, hidden=16, epochs=20, lr=0.01, threads=1, max_len=20, windows=(2, 3),
                         lowercase=True)
        hftc._command, os.environ["HFTC_BIN"] = command, hftc_bin
        check(os.path.exists(model_path) and "\nepoch 1/20  train_loss " in log and
              f"saved {model_path} (3 labels)\n" in log, "train: " + log[-300:])

        metrics = hftc.test(model_path, test_path, threads=1)
        check(metrics["docs"] == 60 and metrics["micro_f1"] > 0.8, f"test: {metrics}")

        texts = ["the team won the match", "a theory of the atom", "", "école café naïve"]
        with hftc.Model(model_path, threads=1) as model:
            check(sorted(model.labels) == ["science", "sport", "topic"], f"labels: {model.labels}")
            predicted = model.predict(texts)
            check(predicted[0][0][0] == "topic" and any(label == "sport" for label, _ in predicted[0]),
                  f"predict: {predicted}")
            check(any(label == "science" for label, _ in predicted[1]), f"predict: {predicted}")
            check(all(len(p) <= 1 for p in model.predict(texts, k=1)), "predict k=1")
            check(all(p == [] for p in model.predict(texts, threshold=1.0)), "threshold 1: nothing selected")
            for bad in (2, -0.5, 1.01):  # [0, 1], or -1 for the model's
                try:
                    model.predict(texts, threshold=bad)
                    check(False, f"threshold {bad} accepted")
                except hftc.HftcError as e:
                    check("threshold" in str(e) and "[0, 1]" in str(e), f"threshold {bad}: {e}")
            check(model.predict(texts, threshold=-1) == predicted, "threshold -1: the model's")
            try:
                model.predict(texts, explain=2)
                check(False, "a CNN explained its predictions")
            except hftc.HftcError as e:
                check("bigru-att" in str(e), f"error: {e}")
            # threads sharing the model take turns: the same answers as one after the other
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                answers = list(pool.map(lambda _: model.predict(texts), range(8)))
            check(all(a == predicted for a in answers), "predictions from 4 threads differ")
            probs = model.probabilities(texts)
            check(len(probs) == 4 and all(len(row) == 3 for row in probs), "probabilities: shape")
            for row, labels in zip(probs, predicted):
                for label, score in labels:
                    check(abs(row[model.labels.index(label)] - score) < 1e-7, f"{label}: {score} against {row}")
            # the same decisions and scores as the command line
            done = subprocess.run([os.environ["HFTC_BIN"], "predict", "--model", model_path, "--json",
                                   "--threads", "1", "--format", "text"],
                                  input="".join(t + "\n" for t in texts), capture_output=True, text=True)
            lines = [json.loads(line) for line in done.stdout.splitlines()]
            check(len(lines) == 3, f"hftc predict printed {done.stdout!r}")  # the empty text is a blank line
            for line in lines:
                mine = predicted[[0, 1, 3][line["doc"] - 1]]
                check([label for label, _ in mine] == line["labels"] and
                      all(abs(a - b) < 1e-5 for (_, a), b in zip(mine, line["scores"])),
                      f"{mine} against {line}")
        try:
            model.predict(texts)
            check(False, "a closed model predicted")
        except hftc.HftcError:
            pass
        check_close_during_predict(model_path)

        # learn and extend through the command: the record's history says what was done
        learnt_path, extended_path = os.path.join(tmp, "learnt.hftc"), os.path.join(tmp, "extended.hftc")
        hftc.learn(learnt_path, model_path, valid_path, valid=test_path, epochs=1, threads=1, quiet=True)
        more_taxonomy = os.path.join(tmp, "more-taxonomy.tsv")
        with open(taxonomy) as f, open(more_taxonomy, "w") as g:
            g.write(f.read() + "topic\tpolitics\n")
        hftc.extend(extended_path, learnt_path, more_taxonomy, train_path, threads=1, quiet=True)
        info = json.loads(subprocess.run([os.environ["HFTC_BIN"], "info", "--model", extended_path, "--json"],
                                         capture_output=True, text=True).stdout)
        history = [entry["kind"] for entry in info["training"]["history"]]
        check(history == ["learn", "extend"], f"history {history}")
        with hftc.Model(extended_path, threads=1) as extended:
            check("politics" in extended.labels, f"extended labels {extended.labels}")

        # an ensemble of the CNN and an ngram model loads and predicts like any model: the weighted mean of its
        # members' probabilities, with the weights its description records
        ngram_path, ensemble_path = os.path.join(tmp, "ngram.hftc"), os.path.join(tmp, "ensemble.hftc")
        hftc.train(ngram_path, train=train_path, valid=valid_path, taxonomy=taxonomy, preset="ngram", dim=8,
                   buckets=1000, epochs=3, threads=1, quiet=True)
        log = hftc.ensemble(ensemble_path, [model_path, ngram_path], valid_path, threads=1, label_thresholds=False)
        check("ensemble: weights " in log and os.path.exists(ensemble_path), f"ensemble: {log}")
        info = json.loads(subprocess.run([os.environ["HFTC_BIN"], "info", "--model", ensemble_path, "--json"],
                                         capture_output=True, text=True).stdout)
        weights = [member["weight"] for member in info["members"]]
        with hftc.Model(ensemble_path, threads=1) as combined, hftc.Model(ngram_path, threads=1) as ngram, \
                hftc.Model(model_path, threads=1) as cnn:
            mixed = combined.probabilities(texts)
            parts = [m.probabilities(texts) for m in (cnn, ngram)]
            check(combined.labels == cnn.labels and sorted(ngram.labels) == sorted(cnn.labels), "ensemble labels")
            for i, row in enumerate(mixed):
                for j, label in enumerate(combined.labels):
                    want = sum(w * p[i][m.labels.index(label)] for w, p, m in zip(weights, parts, (cnn, ngram)))
                    check(abs(row[j] - want) < 1e-6, f"ensemble {label}: {row[j]} against {want}")
            check(combined.predict(texts)[0][0][0] == "topic", f"ensemble predicts {combined.predict(texts)}")
        try:
            hftc.ensemble(os.path.join(tmp, "x.hftc"), [model_path], valid_path)
            check(False, "an ensemble of one model")
        except hftc.HftcError as e:
            check("two --model" in str(e), repr(e))

        # a BiGRU-attention model explains its labels with words of the text
        # stopped at its time limit after one epoch, then continued from its checkpoint by the same call
        gru_path, checkpoint = os.path.join(tmp, "gru.hftc"), os.path.join(tmp, "gru.checkpoint")
        gru_options = dict(train=train_path, valid=valid_path, preset="gru-att-multi", dim=8, rnn_hidden=8,
                           epochs=2, threads=1, max_len=20, checkpoint=checkpoint, quiet=True)
        try:
            hftc.train(gru_path, time_limit=1e-6, **gru_options)
            check(False, "the time limit did not stop the training")
        except hftc.HftcError as e:
            check("time limit" in str(e) and os.path.exists(checkpoint) and not os.path.exists(gru_path), repr(e))
        log = hftc.train(gru_path, **gru_options)
        check("saved" not in log and "epoch" not in log, f"quiet training logged {log!r}")
        check(os.path.exists(gru_path) and not os.path.exists(checkpoint), "the checkpoint outlived the training")
        with hftc.Model(gru_path, threads=1) as gru:
            explained = gru.predict(["the team won the match"], threshold=0.0, explain=3)[0]
            check(len(explained) == 2 and all(len(row) == 3 and 1 <= len(row[2]) <= 3 for row in explained),
                  f"explain: {explained}")
            words = [w for _, _, ws in explained for w, _ in ws]
            known = "the team won the match".split()  # "won", not in the training text, as written
            check(all(w in known for w in words), f"explain words: {words}")
            check(all(0 < a <= 1 for _, _, ws in explained for _, a in ws), f"explain weights: {explained}")

        for bad, what in ((os.path.join(tmp, "missing.hftc"), "missing.hftc"), (train_path, "train.tsv")):
            try:
                hftc.Model(bad)
                check(False, f"{bad} loaded")
            except hftc.HftcError as e:
                check(what in str(e), f"error: {e}")
        # options are refused before training (a ValueError, still an HftcError): the missing training file
        # is not read; a failed training raises the library's message
        missing, unwritten = os.path.join(tmp, "missing.tsv"), os.path.join(tmp, "x.hftc")
        for options, what in (({"epochs": -1}, "epochs"), ({"no_such_option": 3}, "no-such-option"),
                              ({"preset": "no-such-preset"}, "no-such-preset"), ({"windows": []}, "window"),
                              ({"checkpoint": unwritten}, "checkpoint"), ({}, "missing.tsv")):
            try:
                hftc.train(unwritten, **{"train": missing, "epochs": 1, **options})
                check(False, f"training with {options} ran")
            except hftc.HftcError as e:
                check(what in str(e) and isinstance(e, ValueError) == bool(options), f"{options}: {e!r}")
        check(not os.path.exists(unwritten), "a failed training wrote its model")
        try:
            hftc.Model(model_path).predict("one string")
            check(False, "a string was taken for a list")
        except TypeError:
            pass
        # arguments refused (issue 25, item 12): a path with a NUL (the library would read the name before
        # it, another file), negative counts, a count that is no integer
        for path, kwargs, error in ((model_path + "\0.other", {}, ValueError),
                                    (model_path, {"threads": -1}, ValueError),
                                    (model_path, {"word_cache_mb": -1}, ValueError),
                                    (model_path, {"threads": "2"}, TypeError)):
            try:
                hftc.Model(path, **kwargs).close()
                check(False, f"Model({path!r}, {kwargs}) loaded")
            except error:
                pass
        with hftc.Model(model_path, threads=1) as model:
            for k, error in ((-1, ValueError), ("3", TypeError), (True, TypeError)):
                try:
                    got = model.predict(["the team won the match"], k=k)
                    check(False, f"predict(k={k!r}) returned {got}")
                except error:
                    pass
        # outputs refused before training (issue 25, item 12): an empty name, one of the training's own files
        with open(train_path, "rb") as f:
            train_bytes = f.read()
        tiny = dict(train=train_path, valid=valid_path, taxonomy=taxonomy, preset="flat-cnn", dim=8, filters=4,
                    hidden=8, epochs=1, threads=1, max_len=10, quiet=True)
        for output, what in (("", "output"), (train_path, "--train"), (valid_path, "--valid"),
                             (taxonomy, "--taxonomy")):
            try:
                hftc.train(output, **tiny)
                check(False, f"training into {output!r} ran")
            except hftc.HftcError as e:
                check(isinstance(e, ValueError) and what in str(e), f"output {output!r}: {e!r}")
        with open(train_path, "rb") as f:
            check(f.read() == train_bytes, "the training file was overwritten")
    # in a process of its own, without OPENBLAS_CORETYPE: the bindings name the kernels this CPU runs best
    # before OpenBLAS is loaded, so the library finds none better than the ones it runs
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    probe = ("import ctypes, sys; sys.path.insert(0, sys.argv[1]); import hftc; lib = hftc._library(); "
             "lib.hftc_blas_better_kernels.restype = lib.hftc_blas_kernels.restype = ctypes.c_char_p; "
             "print(lib.hftc_blas_kernels().decode(), lib.hftc_blas_better_kernels())")
    done = subprocess.run([sys.executable, "-c", probe, os.path.dirname(os.path.dirname(hftc.__file__))], env=env,
                          capture_output=True, text=True)
    check(done.returncode == 0 and done.stdout.split()[1:] == ["None"], f"kernels: {done.stdout}{done.stderr}")


if __name__ == "__main__":
    main()
    finish("python bindings")
