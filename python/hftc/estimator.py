"""HierarchicalClassifier: hftc in scikit-learn's style. Texts and label sets in, NumPy arrays out, the
training in this process through the library (hftc.train), the model kept loaded (hftc.Model).

    from hftc import HierarchicalClassifier
    clf = HierarchicalClassifier(preset="linear", taxonomy="taxonomy.tsv")
    clf.fit(texts, label_sets, valid=(valid_texts, valid_label_sets))
    clf.classes_                  # the labels, the columns of what follows
    clf.predict(["a text"])       # (n, len(classes_)) 0/1: the model's decisions (ancestors included)
    clf.predict_proba(["a text"]) # (n, len(classes_)) probabilities
    clf.predict_labels(["a text"]) # [["topic", "sport"]]: the decisions by name, best first
    clf.score(texts, label_sets)  # test micro-F1, as `hftc test` computes it
    clf.learn(new_texts, new_label_sets)                      # goes on training from the model's weights
    clf.extend("new-taxonomy.tsv", texts, label_sets)         # adds the new taxonomy's categories
    clf.save("model.hftc");  HierarchicalClassifier.load("model.hftc")

Parameters are hftc's training options (`hftc train --help`), underscores for dashes, kept as given (get_params,
set_params, sklearn.base.clone); fit checks them through the library before any training. A label set is any
iterable of label names (leaves alone are enough: with a taxonomy, the library adds their ancestors); texts
and labels are written to temporary files in hftc's TSV format, so a label may not hold a comma, a tab or a
line break, which raise ValueError."""
import os
import shutil
import tempfile

from . import HftcError, Model, extend, learn, test, train

_FITTED = "this HierarchicalClassifier is not fitted: call fit or load first"


def _write_tsv(path, texts, label_sets, what):
    """texts and label_sets as hftc's TSV: "label,label<TAB>text" per line (tabs and line breaks in a text
    become spaces, as the tokeniser would read them)."""
    texts, label_sets = list(texts), list(label_sets)
    if len(texts) != len(label_sets):
        raise ValueError(f"{what}: {len(texts)} texts but {len(label_sets)} label sets")
    with open(path, "w", encoding="utf-8") as f:
        for i, (text, labels) in enumerate(zip(texts, label_sets)):
            names = [labels] if isinstance(labels, str) else list(labels)
            for name in names:
                if not isinstance(name, str) or not name or any(c in name for c in ",\t\r\n"):
                    raise ValueError(f"{what}, document {i + 1}: label {name!r} is not a non-empty string "
                                     "without commas, tabs or line breaks")
            if not names:
                raise ValueError(f"{what}, document {i + 1}: no label")
            clean = " ".join(str(text).split())
            f.write(",".join(names) + "\t" + clean + "\n")


class HierarchicalClassifier:
    """A hierarchical multi-label classifier trained by hftc (see the module's documentation).

    preset: hftc's preset ("linear", "ngram", "hft-cnn", "htrans", "auto", ...); taxonomy: the taxonomy
    file (None: the labels are top-level categories); threads: 0 for every core; quiet: no training log
    (else fit_log_ holds it); progress: a callable given a dict per epoch (hftc.train); every other keyword
    is a training option (max_len=256, epochs=5, linear_c=[1, 10], ...)."""

    def __init__(self, preset="linear", taxonomy=None, threads=0, seed=1, quiet=True, progress=None, **options):
        self.preset = preset
        self.taxonomy = taxonomy
        self.threads = threads
        self.seed = seed
        self.quiet = quiet
        self.progress = progress
        self._options = dict(options)
        self._model = None
        self._dir = None

    # scikit-learn's parameter protocol, by hand: the options are keywords, not named in __init__'s signature
    def get_params(self, deep=True):
        params = {"preset": self.preset, "taxonomy": self.taxonomy, "threads": self.threads, "seed": self.seed,
                  "quiet": self.quiet, "progress": self.progress}
        params.update(self._options)
        return params

    def set_params(self, **params):
        for key, value in params.items():
            if key in ("preset", "taxonomy", "threads", "seed", "quiet", "progress"):
                setattr(self, key, value)
            else:
                self._options[key] = value
        return self

    def __repr__(self):
        shown = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if v is not None)
        return f"HierarchicalClassifier({shown})"

    def fit(self, texts, label_sets, valid=None):
        """Trains on texts and their label sets. valid: (texts, label_sets) or a labelled file to choose
        epochs, thresholds and members on (None: the library holds out a share of the training data).
        Returns self."""
        self._release()
        self._dir = tempfile.mkdtemp(prefix="hftc-estimator-")
        try:
            train_path = os.path.join(self._dir, "train.tsv")
            _write_tsv(train_path, texts, label_sets, "training data")
            valid_path = self._valid_path(valid)
            model_path = os.path.join(self._dir, "model.hftc")
            self.fit_log_ = train(model_path, quiet=self.quiet, progress=self.progress, preset=self.preset,
                                  train=train_path, valid=valid_path, taxonomy=self.taxonomy, threads=self.threads,
                                  seed=self.seed, **self._options)
            self._open(model_path)
        except BaseException:
            self._release()
            raise
        return self

    def _valid_path(self, valid):
        """valid as fit takes it, as a file (written into the model's directory when given as texts)."""
        if valid is None or isinstance(valid, (str, bytes, os.PathLike)):
            return valid
        valid_texts, valid_labels = valid
        path = os.path.join(self._dir, "valid.tsv")
        _write_tsv(path, valid_texts, valid_labels, "validation data")
        return path

    def _update(self, run, texts, label_sets, valid, options):
        """Runs hftc.learn or hftc.extend (run) on the loaded model into a new file of its directory, then loads
        that in its place; the model stays as it was when the command fails."""
        self._fitted()
        train_path = os.path.join(self._dir, "update.tsv")
        _write_tsv(train_path, texts, label_sets, "training data")
        output = os.path.join(self._dir, "updated.hftc")
        options = dict(options, threads=self.threads, seed=self.seed)
        valid_path = self._valid_path(valid)
        if valid_path is not None:
            options["valid"] = valid_path
        log = run(output, self._model_path, train_path, options)
        self._model.close()
        self._model = None
        os.replace(output, self._model_path)
        self._open(self._model_path)
        return log

    def learn(self, texts, label_sets, valid=None, **options):
        """Goes on training the fitted model on new labelled texts (corrected labels too) from its weights:
        `hftc learn`'s options as keywords (epochs=2, lr=1e-3, replay=0.2: a share of the original training
        data, which the model names, learnt again against forgetting; taxonomy="..." for labels the model
        lacks). Returns self; learn_log_ holds the command's messages."""
        self.learn_log_ = self._update(lambda output, model, train_path, o: learn(
            output, model, train_path, quiet=self.quiet, **o), texts, label_sets, valid, options)
        return self

    def extend(self, taxonomy, texts, label_sets, valid=None, **options):
        """Adds the categories of the taxonomy file that the model lacks, trained on the labelled texts, every
        existing classifier kept (`hftc extend`: allow_removal=True, grow_rows=True, tune_head=True). Returns self; classes_
        grows by the new labels (new columns after the old ones); extend_log_ holds the command's messages."""
        self.extend_log_ = self._update(lambda output, model, train_path, o: extend(
            output, model, taxonomy, train_path, quiet=self.quiet, **o), texts, label_sets, valid, options)
        self.taxonomy = taxonomy
        return self

    def _open(self, model_path):
        self._model = Model(model_path, threads=self.threads)
        self._model_path = model_path
        self.classes_ = list(self._model.labels)

    def _fitted(self):
        if self._model is None:
            raise HftcError(_FITTED)
        return self._model

    def predict_proba(self, texts):
        """(len(texts), len(classes_)) float32: every label's probability."""
        import numpy as np
        rows = self._fitted().probabilities(list(texts))
        return np.array(rows, dtype=np.float32).reshape(len(rows), len(self.classes_))

    def predict_labels(self, texts, k=0, threshold=None, scoring=None):
        """Per text, the labels the model decides (its threshold and scoring unless given), best first."""
        return [[label for label, _ in row]
                for row in self._fitted().predict(list(texts), k=k, threshold=threshold, scoring=scoring)]

    def predict(self, texts, threshold=None, scoring=None):
        """(len(texts), len(classes_)) 0/1 int8: the model's decisions, as `hftc predict` makes them."""
        import numpy as np
        decided = self.predict_labels(texts, threshold=threshold, scoring=scoring)
        column = {label: j for j, label in enumerate(self.classes_)}
        out = np.zeros((len(decided), len(self.classes_)), dtype=np.int8)
        for i, labels in enumerate(decided):
            for label in labels:
                out[i, column[label]] = 1
        return out

    def score(self, texts, label_sets):
        """Micro-F1 of the model's decisions on texts against label_sets, as `hftc test` computes it (the gold
        sets completed with their ancestors). Runs the hftc command."""
        self._fitted()
        with tempfile.TemporaryDirectory(prefix="hftc-score-") as d:
            path = os.path.join(d, "test.tsv")
            _write_tsv(path, texts, label_sets, "scored data")
            return test(self._model_path, path, threads=self.threads)["micro_f1"]

    def save(self, path):
        """Writes the model file (hftc's own: the command, the server and Model read it too)."""
        self._fitted()
        tmp = f"{os.fspath(path)}.tmp.{os.getpid()}"
        shutil.copyfile(self._model_path, tmp)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path, threads=0):
        """A fitted classifier from a model file (its training options stay in the file: `hftc info`)."""
        clf = cls(preset=None, threads=threads)
        clf._dir = tempfile.mkdtemp(prefix="hftc-estimator-")
        try:
            model_path = os.path.join(clf._dir, "model.hftc")
            shutil.copyfile(path, model_path)
            clf._open(model_path)
        except BaseException:
            clf._release()
            raise
        return clf

    def _release(self):
        if self._model is not None:
            self._model.close()
            self._model = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __del__(self):
        self._release()

    def __getstate__(self):
        raise TypeError("a HierarchicalClassifier is not pickled: save() writes its model file, load() reads it")
