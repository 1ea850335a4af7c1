"""What the result sweeps (scripts/hft-cnn-tables, scripts/htrans-tables) share: running hftc train
under /usr/bin/time -v, testing and describing a model into JSON files, reading those back, and
formatting mean ± sd. Python standard library only."""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys


INCOMPLETE = 3  # hftc train's exit status at --time-limit: the checkpoint holds the work done


def train(hftc, args, log_path, checkpoint=None):
    """hftc train ARGS under /usr/bin/time -v; output and the time report go to log_path (appended to when
    the training continues from an existing checkpoint file, so that the log has every call's report).
    Returns the exit status: 0, or INCOMPLETE; any other raises CalledProcessError."""
    cmd = ["/usr/bin/time", "-v", hftc, "train"] + [str(a) for a in args]
    print("+ hftc train", " ".join(cmd[4:]), file=sys.stderr, flush=True)
    with open(log_path, "a" if checkpoint and os.path.exists(checkpoint) else "w") as log:
        status = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT).returncode
    if status not in (0, INCOMPLETE):
        raise subprocess.CalledProcessError(status, cmd)
    return status


def test_json(hftc, model, test_file, out_path, threads, scoring=None, extra=()):
    """hftc test --json of model on test_file (with options extra), written to out_path."""
    cmd = [hftc, "test", "--threads", str(threads), "--model", model, "--input", test_file, "--json"] + list(extra)
    if scoring:
        cmd += ["--scoring", scoring]
    with open(out_path, "w") as out:
        subprocess.run(cmd, stdout=out, check=True)


def info_json(hftc, model, out_path):
    with open(out_path, "w") as out:
        subprocess.run([hftc, "info", "--model", model, "--json"], stdout=out, check=True)


def load_json(path):
    with open(path) as f:
        return json.load(f)


def time_report(log):
    """(wall seconds, peak MiB) from /usr/bin/time -v's reports in a training log's text: the walls of all
    the calls a training took (continued from a checkpoint; a call killed before its report is not
    counted) added up, the largest peak."""
    walls = re.findall(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", log)
    rss = [int(k) for k in re.findall(r"Maximum resident set size \(kbytes\): (\d+)", log)]
    seconds = sum(int(h or 0) * 3600 + int(m) * 60 + float(s) for h, m, s in walls) if walls else None
    return seconds, (max(rss) / 1024 if rss else None)


def runs_reused(log):
    """The classifier runs a node training took with --reuse-runs, from its log's text: summed over the
    calls it took, since a call that continues from a checkpoint finds them there and reuses none itself."""
    return sum(int(n) for n in re.findall(r": (\d+) classifier runs reused \(", log))


RECORDS = (".train.log", ".info.json", ".done")  # and one NAME.SCORING.json per scoring


def done(base):
    return os.path.exists(base + ".done")


def copy_records(src_dir, dst_dir, names=None):
    """Copies the records of the finished runs in src_dir (all, or those named) to dst_dir, not their models:
    what the tables read, small enough to keep in a repository while the models and checkpoints of a
    sweep that spans several machines stay behind. Returns the names copied."""
    os.makedirs(dst_dir, exist_ok=True)
    names = names or [f[:-len(".done")] for f in os.listdir(src_dir) if f.endswith(".done")]
    for name in names:
        for f in os.listdir(src_dir):
            suffix = f[len(name):] if f.startswith(name + ".") else ""
            if suffix in RECORDS or re.fullmatch(r"\.\w+\.json", suffix):
                shutil.copy2(os.path.join(src_dir, f), os.path.join(dst_dir, f))
    return names


def mark_done(base):
    open(base + ".done", "w").close()


def train_and_score(hftc, options, data_dir, base, scorings, threads, checkpoint=None):
    """One run: hftc train OPTIONS (which write base.hftc; continuing from the checkpoint file if given and
    there) with base.train.log, hftc test of the model on data_dir/test.tsv with each scoring
    (base.SCORING.json), hftc info (base.info.json), then base.done. False if the training stopped at its
    --time-limit (nothing tested, not done)."""
    if train(hftc, options, base + ".train.log", checkpoint) == INCOMPLETE:
        return False
    for scoring in scorings:
        test_json(hftc, base + ".hftc", os.path.join(data_dir, "test.tsv"), f"{base}.{scoring}.json", threads, scoring)
    info_json(hftc, base + ".hftc", base + ".info.json")
    mark_done(base)
    return True


def read_scored_run(base, scorings):
    """What train_and_score left: {"scores": {scoring: test JSON}, "info", "wall", "peak_mb"}; None if not done."""
    if not done(base):
        return None
    run = {"scores": {s: load_json(f"{base}.{s}.json") for s in scorings}, "info": load_json(base + ".info.json")}
    log = open(base + ".train.log").read()
    run["wall"], run["peak_mb"] = time_report(log)
    run["runs_reused"] = runs_reused(log)
    return run


def data_options(data_dir, base):
    """hftc train's data and output options for a dataset folder (taxonomy.tsv, train.tsv, valid.tsv)."""
    return ["--taxonomy", os.path.join(data_dir, "taxonomy.tsv"), "--train", os.path.join(data_dir, "train.tsv"),
            "--valid", os.path.join(data_dir, "valid.tsv"), "--output", base + ".hftc"]


def mean_sd(values, digits=4):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"
