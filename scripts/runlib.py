"""What the result sweeps (scripts/hft-cnn-tables, scripts/htrans-tables) share: running hftc train
under /usr/bin/time -v, testing and describing a model into JSON files, reading those back, and
formatting mean ± sd. Python standard library only."""
import json
import os
import re
import statistics
import subprocess
import sys


def train(hftc, args, log_path):
    """hftc train ARGS under /usr/bin/time -v; output and the time report go to log_path."""
    cmd = ["/usr/bin/time", "-v", hftc, "train"] + [str(a) for a in args]
    print("+ hftc train", " ".join(cmd[4:]), file=sys.stderr, flush=True)
    with open(log_path, "w") as log:
        subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=True)


def test_json(hftc, model, test_file, out_path, threads, scoring=None):
    """hftc test --json of model on test_file, written to out_path."""
    cmd = [hftc, "test", "--threads", str(threads), "--model", model, "--input", test_file, "--json"]
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


def time_report(log_path):
    """(wall seconds, peak MiB) from /usr/bin/time -v's report at the end of log_path."""
    log = open(log_path).read()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", log)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", log)
    seconds = (int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))) if wall else None
    return seconds, (int(rss.group(1)) / 1024 if rss else None)


def done(base):
    return os.path.exists(base + ".done")


def mark_done(base):
    open(base + ".done", "w").close()


def mean_sd(values, digits=4):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"
