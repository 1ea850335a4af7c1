"""Python bindings for hftc (ctypes over libhftc.so, nothing to compile): train a model, load it and label
texts in-process; evaluate through the hftc command. Training options are keyword arguments, named as the
command line's (underscores for dashes).

    import hftc
    hftc.train("model.hftc", train="train.tsv", valid="valid.tsv", preset="flat-cnn", taxonomy="tax.tsv")
    print(hftc.test("model.hftc", "test.tsv")["micro_f1"])
    with hftc.Model("model.hftc", threads=2) as model:
        for labels in model.predict(["the team won the match", "a theory of the atom"]):
            print(labels)                    # [(label, score), ...], best first
        rows = model.probabilities(["..."])  # one probability per label (model.labels)

The library and the command are found from HFTC_LIBRARY and HFTC_BIN, then in the build tree of the source
tree this package is in (build/release), then where the system keeps them (ldconfig, PATH: `cmake --install`);
only test(), ensemble() and HierarchicalClassifier.score run the command. HierarchicalClassifier
(hftc.estimator) is the same in scikit-learn's style: fit, predict, predict_proba, score, save, load.
Errors raise HftcError with the library's or the command's message (HftcOptionError, also a ValueError,
for training options the library refuses)."""
import contextlib
import ctypes
import ctypes.util
import json
import os
import shutil
import subprocess
import sys
import threading

__all__ = ["HftcError", "HftcOptionError", "HierarchicalClassifier", "Model", "ensemble", "train", "test"]

_HERE = os.path.dirname(os.path.abspath(__file__))
_BUILD = os.path.join(_HERE, "..", "..", "build", "release")  # run from the source tree (python/hftc/)


class HftcError(RuntimeError):
    """A failure reported by libhftc or the hftc command."""


class HftcOptionError(HftcError, ValueError):
    """A training option that is unknown, has a bad value or conflicts with another: raised before training.
    Still an HftcError, as it was when the command refused it."""


class _InputOptions(ctypes.Structure):  # hftc_input_options
    _fields_ = [("path", ctypes.c_char_p), ("format", ctypes.c_char_p), ("scoring", ctypes.c_char_p),
                ("threshold", ctypes.c_float), ("skip_bad_lines", ctypes.c_int), ("prune", ctypes.c_int),
                ("per_label", ctypes.c_int), ("explain", ctypes.c_size_t),
                ("sibling_confusions", ctypes.c_int), ("threshold_curve", ctypes.c_int)]


class _Prediction(ctypes.Structure):  # hftc_prediction
    _fields_ = [("index", ctypes.c_size_t), ("n_selected", ctypes.c_size_t),
                ("selected", ctypes.POINTER(ctypes.c_size_t)), ("n_ranked", ctypes.c_size_t),
                ("ranked", ctypes.POINTER(ctypes.c_size_t)), ("probs", ctypes.POINTER(ctypes.c_float)),
                ("batch_end", ctypes.c_int), ("n_words", ctypes.c_size_t),
                ("words", ctypes.POINTER(ctypes.c_char_p)), ("word_weights", ctypes.POINTER(ctypes.c_float))]


class _Progress(ctypes.Structure):  # hftc_progress
    _fields_ = [("part", ctypes.c_char_p), ("epoch", ctypes.c_size_t), ("epochs", ctypes.c_size_t),
                ("docs_done", ctypes.c_size_t), ("docs_total", ctypes.c_size_t), ("seconds", ctypes.c_double),
                ("train_loss", ctypes.c_float), ("epoch_end", ctypes.c_int), ("valid_loss", ctypes.c_float),
                ("valid_micro_f1", ctypes.c_float), ("valid_accuracy", ctypes.c_float), ("improved", ctypes.c_int)]


_PREDICTION_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(_Prediction), ctypes.c_void_p)
_LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
_PROGRESS_FN = ctypes.CFUNCTYPE(None, ctypes.POINTER(_Progress), ctypes.c_void_p)


class _ProgressSlot(ctypes.Structure):
    """The last two members of hftc_train_options, which the library keeps at its end: the rest of it is
    set by name, so this module needs only its size (hftc_train_options_size), not its layout."""
    _fields_ = [("progress", _PROGRESS_FN), ("progress_user", ctypes.c_void_p)]


_lib = None
_STATUS_INVALID_ARGUMENT = 1  # hftc_status


def _library():
    global _lib
    if _lib is not None:
        return _lib
    candidates = [os.environ.get("HFTC_LIBRARY"), os.path.join(_BUILD, "libhftc.so"), ctypes.util.find_library("hftc")]
    path = next((c for c in candidates if c and (os.path.exists(c) or not os.path.dirname(c))), None)
    if path is None:
        raise HftcError("libhftc.so not found: build hftc, or set HFTC_LIBRARY")
    _choose_blas_kernels(path)
    _choose_spin_count()
    lib = ctypes.CDLL(path)
    lib.hftc_last_error.restype = ctypes.c_char_p
    lib.hftc_model_set_threads.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.hftc_model_set_threads.restype = None
    lib.hftc_model_load.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p]
    lib.hftc_model_free.argtypes = [ctypes.c_void_p]
    lib.hftc_model_set_word_cache.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    lib.hftc_model_num_labels.argtypes = [ctypes.c_void_p]
    lib.hftc_model_num_labels.restype = ctypes.c_size_t
    lib.hftc_model_label.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    lib.hftc_model_label.restype = ctypes.c_char_p
    lib.hftc_predict_texts.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t,
                                       ctypes.POINTER(ctypes.c_float)]
    lib.hftc_predict_documents.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t,
                                           ctypes.POINTER(_InputOptions), ctypes.c_size_t, _PREDICTION_FN,
                                           ctypes.c_void_p]
    lib.hftc_set_log.argtypes = [_LOG_FN, ctypes.c_int, ctypes.c_void_p]
    lib.hftc_train_options_size.restype = ctypes.c_size_t
    lib.hftc_train_options_init.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.hftc_train_options_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
    lib.hftc_train_options_check.argtypes = [ctypes.c_void_p]
    lib.hftc_train_options_check.restype = ctypes.c_char_p
    lib.hftc_train_outputs_check.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.hftc_train.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
    lib.hftc_model_save.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    _lib = lib
    return lib


def _library_loaded(name):
    try:
        with open("/proc/self/maps") as maps:
            return name in maps.read()
    except OSError:
        return False


def _choose_blas_kernels(path):
    """Debian 12's OpenBLAS runs its generic Prescott kernels on CPUs newer than itself and reads
    OPENBLAS_CORETYPE once, when it is loaded: as the hftc command does for itself, ask the library (in a
    child process, so that OpenBLAS is not loaded here yet) which kernels this CPU runs better, and name
    them before loading it. Nothing to do where OPENBLAS_CORETYPE is set or OpenBLAS is already loaded in
    this process (by numpy or torch): the library then warns once, at the first model it loads."""
    if "OPENBLAS_CORETYPE" in os.environ or _library_loaded("libopenblas") or not sys.executable:
        return
    probe = ("import ctypes, sys; lib = ctypes.CDLL(sys.argv[1]); lib.hftc_blas_better_kernels.restype = "
             "ctypes.c_char_p; print((lib.hftc_blas_better_kernels() or b'').decode())")
    try:
        done = subprocess.run([sys.executable, "-c", probe, path], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return  # (an interpreter embedded in another program): the library's warning then
    if done.returncode == 0 and done.stdout.strip():
        os.environ["OPENBLAS_CORETYPE"] = done.stdout.strip()


def _choose_spin_count():
    """libgomp reads how long a waiting thread spins once, when it is loaded; its default (300,000 spins) makes a
    training crawl on a machine where another process holds a core. As the hftc command does (cli/main.c,
    HFTC_SPIN_COUNT), choose a few microseconds' worth unless the user has chosen, or libgomp is loaded already."""
    if "OMP_WAIT_POLICY" in os.environ or "GOMP_SPINCOUNT" in os.environ or _library_loaded("libgomp"):
        return
    os.environ["GOMP_SPINCOUNT"] = "1000"


def _last_error():
    return _library().hftc_last_error().decode("utf-8", "replace")


def _check(status):
    if status != 0:
        raise HftcError(_last_error())


def _path(path):
    """A file name as the library reads it: a NUL would end it early (another file loaded), so refused."""
    encoded = os.fsencode(path)
    if b"\0" in encoded:
        raise ValueError(f"path {os.fsdecode(path)!r} holds a NUL character")
    return encoded


def _count(name, value, limit=2**31 - 1):
    """A non-negative integer argument (a bool or a string is no count; ctypes would take either silently)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: an integer, not {type(value).__name__}")
    if not 0 <= value <= limit:
        raise ValueError(f"{name}: {value} is not in [0, {limit}]")
    return value


def _texts(texts):
    if isinstance(texts, str):
        raise TypeError("texts: a list of strings, not one string")
    encoded = [t.encode("utf-8") for t in texts]
    if any(b"\0" in t for t in encoded):
        raise ValueError("texts may not hold NUL characters")
    return (ctypes.c_char_p * max(len(encoded), 1))(*encoded), len(encoded)


class Model:
    """A trained hftc model file, loaded once; predictions use `threads` threads (0: every core). Python
    threads sharing a Model take turns (a lock: ctypes lets them into the library at once, which the
    model does not allow); give each its own Model to predict concurrently. close() waits for a call
    running in another thread; a call on a closed model raises HftcError."""

    def __init__(self, path, threads=0, word_cache_mb=2048):
        self._m = None
        encoded = _path(path)
        threads = _count("threads", threads)
        word_cache_mb = _count("word_cache_mb", word_cache_mb, 2**44)
        self._lock = threading.Lock()
        lib = _library()
        handle = ctypes.c_void_p()
        _check(lib.hftc_model_load(ctypes.byref(handle), encoded))
        self._m = handle
        lib.hftc_model_set_threads(self._m, threads)  # the model's own, whichever thread predicts
        try:
            _check(lib.hftc_model_set_word_cache(self._m, word_cache_mb << 20))
        except HftcError:
            self.close()
            raise
        n_labels = lib.hftc_model_num_labels(self._m)
        self.labels = [lib.hftc_model_label(self._m, i).decode("utf-8") for i in range(n_labels)]

    def close(self):
        lock = getattr(self, "_lock", None)  # None: __init__ failed before making it
        if lock is None:
            return
        with lock:  # after a call running in another thread: it holds the handle
            if self._m:
                _library().hftc_model_free(self._m)
                self._m = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    @contextlib.contextmanager
    def _handle(self):
        """The handle, for the duration of a call into the library: read under the lock that close() takes,
        so that the model cannot be freed under the call."""
        with self._lock:
            if not self._m:
                raise HftcError("the model is closed")
            yield self._m

    def predict(self, texts, k=0, threshold=None, scoring=None, explain=0):
        """Per text, the labels decided as `hftc predict` decides them (the model's threshold and scoring
        unless given), best first, as (label, score) pairs; at most k of them (0: all). With explain=N
        (bigru-att models): (label, score, [(word, attention), ...]) with the N words the label's
        classifier attended to most."""
        k, explain = _count("k", k), _count("explain", explain)
        array, n = _texts(texts)
        options = _InputOptions(threshold=-1.0 if threshold is None else threshold, prune=1, explain=explain,
                                scoring=None if scoring is None else scoring.encode())
        results = [None] * n

        def collect(p, _user):
            p = p.contents
            chosen = list(range(p.n_selected))[:k] if k else range(p.n_selected)
            rows = []
            for i in chosen:
                c = p.selected[i]
                row = (self.labels[c], p.probs[c])
                if p.n_words:
                    at = [(p.words[i * p.n_words + j].decode("utf-8"), p.word_weights[i * p.n_words + j])
                          for j in range(p.n_words)]
                    row += ([w for w in at if w[1] > 0],)
                rows.append(row)
            results[p.index] = rows
            return 0

        with self._handle() as m:
            _check(_library().hftc_predict_documents(m, array, n, ctypes.byref(options), 0, _PREDICTION_FN(collect),
                                                     None))
        return results

    def probabilities(self, texts):
        """Per text, the probability of every label (in the order of self.labels)."""
        array, n = _texts(texts)
        probs = (ctypes.c_float * max(n * len(self.labels), 1))()
        with self._handle() as m:
            _check(_library().hftc_predict_texts(m, array, n, probs))
        C = len(self.labels)
        return [list(probs[i * C:(i + 1) * C]) for i in range(n)]


def _command():
    for candidate in (os.environ.get("HFTC_BIN"), os.path.join(_BUILD, "hftc"), shutil.which("hftc")):
        if candidate and os.path.exists(candidate):
            return candidate
    raise HftcError("the hftc command was not found: build hftc, or set HFTC_BIN")


def _arguments(options):
    args = []
    for key, value in options.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = int(value)
        elif isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        args += ["--" + key.replace("_", "-"), str(value)]
    return args


def _run(args):
    done = subprocess.run([_command()] + args, capture_output=True, text=True)
    if done.returncode != 0:
        raise HftcError(done.stderr.strip() or f"hftc exited with status {done.returncode}")
    return done


# The library's log and progress go to one callback each for the whole process: trainings take turns, and
# while one runs its messages are collected here (then warnings go to sys.stderr, as the library's default
# sink wrote them). A training's callbacks run on the library's threads, never Python's main thread, so
# Ctrl-C cannot land in them (ctypes would print it and carry on); appending to a list needs no other lock.
_LOG_WARN, _LOG_INFO = 1, 2
_LOG_PREFIX = ("error: ", "warning: ", "", "")
_train_lock = threading.Lock()
_log_lines = None
_user_progress = None
_epoch_lines = False


@_LOG_FN
def _log(level, message, _user):
    line = _LOG_PREFIX[level] + message.decode("utf-8", "replace")
    if _log_lines is None:
        print(line, file=sys.stderr)
    else:
        _log_lines.append(line)


@_PROGRESS_FN
def _progress(p, _user):
    """One line per epoch, as `hftc train` writes when its stderr is not a terminal."""
    p = p.contents
    if not p.epoch_end:
        return
    part = p.part.decode("utf-8", "replace") if p.part else "flat"
    accuracy = p.valid_accuracy >= 0
    if _user_progress is not None:
        _user_progress({"part": part, "epoch": p.epoch, "epochs": p.epochs, "train_loss": p.train_loss,
                        "valid_loss": p.valid_loss, "valid_micro_f1": p.valid_micro_f1,
                        "valid_accuracy": p.valid_accuracy if accuracy else None, "seconds": p.seconds,
                        "improved": bool(p.improved)})
    if not _epoch_lines:
        return
    rate = p.docs_done / p.seconds if p.seconds > 0 else 0.0
    _log_lines.append(f"{'' if part == 'flat' else part + ' '}epoch {p.epoch}/{p.epochs}  "
                      f"train_loss {p.train_loss:.5f}  valid_loss {p.valid_loss:.5f}  "
                      f"{'valid_accuracy' if accuracy else 'valid_micro_f1'} "
                      f"{p.valid_accuracy if accuracy else p.valid_micro_f1:.4f}  {p.seconds:.1f} s  "
                      f"{rate:.0f} docs/s{'  *' if p.improved else ''}")


def _option_value(name, value):
    """An option's value as the library reads it: booleans 1/0, lists comma-separated (empty: none)."""
    if isinstance(value, bool):
        value = "1" if value else "0"
    elif isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value) or "none"
    elif isinstance(value, os.PathLike):
        value = os.fspath(value)
    text = value if isinstance(value, bytes) else os.fsencode(str(value))
    if b"\0" in text:
        raise HftcOptionError(f"option {name}: its value holds a NUL character")
    return text


def train(output, *, quiet=False, progress=None, **options):
    """Trains a model into `output` in this process, as `hftc train` does: every keyword but quiet is one of
    its options (`hftc train --help`, hftc_train_options_set), underscores for dashes (preset="htrans",
    class_weights=[1, 3], max_len=256, tune_threshold=True); None leaves an option at its preset's default.
    Options are all read before training starts: an unknown one or a bad value raises HftcOptionError.
    Returns the log the command writes: the library's messages, one line per epoch and "saved ..." (quiet:
    the warnings only). A failed training raises HftcError with the library's message (a time_limit stop
    too: the same call continues from the checkpoint). The training runs on a thread of its own while this
    one waits; other Python threads run meanwhile, and trainings in one process take turns. Ctrl-C raises
    KeyboardInterrupt once the library returns, without saving: it cannot stop a training midway.
    progress: a callable given a dict at the end of each epoch (part, epoch, epochs, train_loss, valid_loss,
    valid_micro_f1, valid_accuracy (None unless the head is softmax), seconds, improved), on the library's
    thread; what it raises is printed, not raised (ctypes cannot carry it out of the library)."""
    global _log_lines, _user_progress, _epoch_lines
    lib = _library()
    preset = options.pop("preset", None)
    size = lib.hftc_train_options_size()
    o = (ctypes.c_uint64 * -(-size // 8))()  # aligned as the struct's widest members
    if lib.hftc_train_options_init(o, None if preset is None else _option_value("preset", preset)) != 0:
        raise HftcOptionError(_last_error())
    keep = []  # the library keeps pointers to the strings (file names): alive until training ends
    for key, value in options.items():
        if value is None:
            continue
        name = key.replace("_", "-")
        keep.append(_option_value(name, value))
        if lib.hftc_train_options_set(o, name.encode(), keep[-1]) != 0:
            raise HftcOptionError(_last_error())
    problem = lib.hftc_train_options_check(o)
    if problem:
        raise HftcOptionError(problem.decode("utf-8", "replace"))
    # the model and the checkpoint can be written, over none of the inputs: checked before training, as the
    # command does (a name or an input file refused: HftcOptionError; a file that cannot be written: HftcError)
    status = lib.hftc_train_outputs_check(o, _option_value("output", output))
    if status != 0:
        raise (HftcOptionError if status == _STATUS_INVALID_ARGUMENT else HftcError)(_last_error())
    checkpoint = options.get("checkpoint")
    slot = _ProgressSlot.from_buffer(o, size - ctypes.sizeof(_ProgressSlot))
    if not quiet or progress is not None:
        slot.progress = _progress
    lines, handle, done = [], ctypes.c_void_p(), threading.Event()
    failure = [HftcError("the training thread failed")]  # until the library returns

    def run():  # ctypes lets go of the GIL during the call; the error message is this thread's
        try:
            failure[0] = HftcError(_last_error()) if lib.hftc_train(o, ctypes.byref(handle)) else None
        finally:
            done.set()

    interrupted = None
    with _train_lock:
        _log_lines, _user_progress, _epoch_lines = lines, progress, not quiet
        lib.hftc_set_log(_log, _LOG_WARN if quiet else _LOG_INFO, None)
        threading.Thread(target=run, name="hftc.train").start()
        # Until the library returns, as it holds o and the strings in keep. Not Thread.join: interrupted, it
        # takes the thread for ended (Python 3.11).
        while not done.is_set():
            try:
                done.wait()
            except KeyboardInterrupt as e:
                interrupted = e
        lib.hftc_set_log(_log, _LOG_WARN, None)
        _log_lines = _user_progress = None
    try:
        if interrupted is not None:
            raise interrupted
        if failure[0] is not None:
            raise failure[0]
        _check(lib.hftc_model_save(handle, os.fsencode(output)))
        n_labels = lib.hftc_model_num_labels(handle)
    finally:
        if handle:
            lib.hftc_model_free(handle)
    if not quiet:
        lines.append(f"saved {os.fsdecode(output)} ({n_labels} labels)")
    if checkpoint is not None:
        try:
            os.remove(checkpoint)
        except FileNotFoundError:
            pass
        except OSError as e:
            lines.append(f"warning: cannot remove the checkpoint {os.fsdecode(checkpoint)}: {e.strerror}")
    return "".join(line + "\n" for line in lines)


def ensemble(output, models, valid, *, quiet=False, **options):
    """Combines trained `models` (model files over the same taxonomy) into the model file `output` with `hftc
    ensemble`: the weighted mean of their probabilities, the weights and the threshold chosen on the labelled file
    `valid`. Options as the command's, underscores for dashes (scoring="bsf", weight_steps=20, threads=1;
    label_thresholds=True/False/"auto"). The result loads as Model(output) like any model. Returns the command's
    messages (each member's and the ensemble's validation figures)."""
    args = ["ensemble", "--output", os.fspath(output), "--valid", os.fspath(valid)]
    for model in models:
        args += ["--model", os.fspath(model)]
    if isinstance(options.get("label_thresholds"), bool):
        options["label_thresholds"] = "yes" if options["label_thresholds"] else "no"
    return _run(args + (["--quiet"] if quiet else []) + _arguments(options)).stderr


def extend(output, model, taxonomy, train, *, quiet=False, **options):
    """Adds to `model` the categories the taxonomy file `taxonomy` has and it lacks, trained on the labelled file
    `train`, into the model file `output` with `hftc extend` (valid="...", allow_removal=True, grow_rows=True,
    tune_head=True, threads=1 as the command's options). Returns the command's messages."""
    args = ["extend", "--output", os.fspath(output), "--model", os.fspath(model), "--taxonomy", os.fspath(taxonomy),
            "--train", os.fspath(train)]
    flags = [f"--{name.replace('_', '-')}" for name in ("allow_removal", "grow_rows", "tune_head")
             if options.pop(name, False)]
    return _run(args + flags + (["--quiet"] if quiet else []) + _arguments(options)).stderr


def learn(output, model, train, *, quiet=False, **options):
    """Trains `model` on from its weights on the labelled file `train` into the model file `output` with `hftc
    learn` (valid="...", epochs=2, lr=1e-3, replay=0.2, taxonomy="..." as the command's options). Returns the
    command's messages."""
    args = ["learn", "--output", os.fspath(output), "--model", os.fspath(model), "--train", os.fspath(train)]
    return _run(args + (["--quiet"] if quiet else []) + _arguments(options)).stderr


def test(model, input, **options):
    """Evaluates `model` on the labelled file `input` with `hftc test --json`; returns its metrics."""
    done = _run(["test", "--model", os.fspath(model), "--input", os.fspath(input), "--json"] + _arguments(options))
    return json.loads(done.stdout)


from .estimator import HierarchicalClassifier  # noqa: E402 (it uses the names above)
