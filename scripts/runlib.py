"""What the result sweeps (scripts/hft-cnn-tables, scripts/htrans-tables) share: running hftc train
under /usr/bin/time -v, testing and describing a model into JSON files, reading those back, and
formatting mean ± sd, and keeping the finished runs' records (not the models) in a directory or in a
compressed archive with its index. Python standard library only."""
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import significance  # noqa: E402


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


def time_report(log):
    """(wall seconds, peak MiB) from /usr/bin/time -v's reports in a training log's text: the walls of all
    the calls a training took (continued from a checkpoint; a call killed before its report is not
    counted) added up, the largest peak."""
    walls = re.findall(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", log)
    rss = [int(k) for k in re.findall(r"Maximum resident set size \(kbytes\): (\d+)", log)]
    seconds = sum(int(h or 0) * 3600 + int(m) * 60 + float(s) for h, m, s in walls) if walls else None
    return seconds, (max(rss) / 1024 if rss else None)


def cpu_seconds(log):
    """User and system CPU seconds of /usr/bin/time -v's reports in a log's text (every call's added up): on a shared
    machine steadier than the wall time."""
    return sum(float(v) for v in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", log))


def runs_reused(log):
    """The classifier runs a node training took with --reuse-runs, from its log's text: summed over the
    calls it took, since a call that continues from a checkpoint finds them there and reuses none itself."""
    return sum(int(n) for n in re.findall(r": (\d+) classifier runs reused \(", log))


RECORDS = (".train.log", ".info.json", ".done")  # and per scoring NAME.SCORING.json and NAME.SCORING.docs.tsv
# a test split's part tested alone (NAME.SCORING.PART.json: hft-cnn-tables' Figure 3 groups, PART labelsN)
PART_SCORES = re.compile(r"\.[\w-]+\.labels\d+\.json")
ARCHIVE = ".tar.xz"


def done(base):
    return os.path.exists(base + ".done")


def record_files(files, names=None):
    """Which of the file names files are the records of the runs named (default: every finished run, one with
    NAME.done among them): NAME.train.log, NAME.info.json, NAME.done, NAME.SCORING.json, NAME.SCORING.docs.tsv
    (the per-document counts of the bootstrap) and NAME.SCORING.labelsN.json (PART_SCORES)."""
    names = names or [f[:-len(".done")] for f in files if f.endswith(".done")]
    return sorted(f for name in names for f in files if f.startswith(name + ".") and
                  (f[len(name):] in RECORDS or re.fullmatch(r"\.[\w-]+\.(json|docs\.tsv)", f[len(name):]) or
                   PART_SCORES.fullmatch(f[len(name):])))


def copy_records(src_dir, dst_dir, names=None):
    """Copies the records of the finished runs in src_dir (all, or those named) to dst_dir, not their models
    and checkpoints, which stay behind (a sweep that spans several machines). Returns the names copied."""
    os.makedirs(dst_dir, exist_ok=True)
    names = names or [f[:-len(".done")] for f in os.listdir(src_dir) if f.endswith(".done")]
    for f in record_files(os.listdir(src_dir), names):
        shutil.copy2(os.path.join(src_dir, f), os.path.join(dst_dir, f))
    return names


def is_archive(path):
    return path.endswith(ARCHIVE)


def read_archive(path):
    """A records archive's files: {file name: bytes} (the folder they are under in the archive left out)."""
    with tarfile.open(path, "r:xz") as tar:
        return {os.path.basename(m.name): tar.extractfile(m).read() for m in tar if m.isfile()}


def write_archive(path, files):
    """Writes {file name: bytes} to the archive path (NAME.tar.xz, files under the folder NAME/): sorted, with
    a fixed owner, mode and time, so that the same records always give the same bytes; through a temporary
    file renamed at the end, so that an interrupted write leaves the archive as it was."""
    folder = os.path.basename(path)[:-len(ARCHIVE)]
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with tarfile.open(tmp, "w:xz", format=tarfile.USTAR_FORMAT, preset=9) as tar:
            for name in sorted(files):
                member = tarfile.TarInfo(f"{folder}/{name}")
                member.size, member.mode, member.mtime = len(files[name]), 0o644, 0
                tar.addfile(member, io.BytesIO(files[name]))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def index_path(archive):
    return archive[:-len(ARCHIVE)] + ".index.md"


def archive_index(archive, files):
    """A Markdown index of a records archive's runs: per finished run its dataset, system, preset and seed, the
    test scores (micro-F1 / macro-F1 per scoring), the training's wall time and peak memory, and its files."""
    folder = os.path.basename(archive)[:-len(ARCHIVE)]
    names = sorted(f[:-len(".done")] for f in files if f.endswith(".done"))
    lines = [f"# Index of `{os.path.basename(archive)}`", "",
             f"Written by `scripts/run-records` from the archive (do not edit): {len(names)} finished runs, "
             f"{len(files)} files, each under `{folder}/` in the archive. Scores are `hftc test --json` on the "
             "test split (micro-F1 / macro-F1 per scoring); wall s and peak MiB are `/usr/bin/time -v`'s over "
             "the training's calls.", "",
             "| run | dataset | system | preset | seed | test micro-F1 / macro-F1 | wall s | peak MiB | files |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name in names:
        run = read_scored_run(name, [], files)
        options = run["info"].get("training", {}).get("options", {})
        dataset = os.path.basename(os.path.dirname(options.get("train", "")))
        seed = options.get("seed", "")
        system = name
        if dataset and system.startswith(dataset + "-"):
            system = system[len(dataset) + 1:]
        if system.endswith(f"-s{seed}"):
            system = system[:-len(f"-s{seed}")]
        mine = record_files(list(files), [name])
        scorings = [f[len(name) + 1:-len(".json")] for f in mine
                    if f.endswith(".json") and f != name + ".info.json" and not PART_SCORES.fullmatch(f[len(name):])]
        scores = "; ".join(f"{s} {x['micro_f1']:.4f} / {x['macro_f1']:.4f}"
                           for s, x in ((s, json.loads(files[f"{name}.{s}.json"])) for s in scorings))
        wall = f"{run['wall']:.0f}" if run["wall"] is not None else ""
        peak = f"{run['peak_mb']:.0f}" if run["peak_mb"] is not None else ""
        suffixes = ",".join(f[len(name) + 1:] for f in mine)
        lines.append(f"| `{name}` | {dataset} | {system} | {run['info'].get('preset', '')} | {seed} | {scores} | "
                     f"{wall} | {peak} | `{folder}/{name}.{{{suffixes}}}` |")
    return "\n".join(lines) + "\n"


def archived_record(name, data):
    """What an archive keeps of a record file: all of it, but an info file (hftc info --json) without its "labels"
    (every category's name, parent and settings: the dataset's taxonomy over again, 1.5 MB a run on amazon), which
    no table reads. The same bytes for the same file, so a run packed twice gives the same archive."""
    if not name.endswith(".info.json"):
        return data
    info = json.loads(data)
    if info.pop("labels", None) is None:
        return data
    return (json.dumps(info, indent=1, ensure_ascii=False) + "\n").encode()


def pack_records(src_dir, archive, names=None):
    """Adds the records of the finished runs in src_dir (all, or those named) to the archive (created if
    missing; a run already there is replaced) and rewrites its index (index_path) beside it. xz cannot be
    appended to, so the archive is written whole each time: a few seconds for megabytes of records, next to
    runs of minutes to hours. Returns the names packed."""
    files = read_archive(archive) if os.path.exists(archive) else {}
    names = names or [f[:-len(".done")] for f in os.listdir(src_dir) if f.endswith(".done")]
    if names:  # (record_files reads no names as every run: the archive's own would go)
        for f in record_files(list(files), names):  # a run packed again: its files now, none left from before
            del files[f]
        for f in record_files(os.listdir(src_dir), names):
            with open(os.path.join(src_dir, f), "rb") as data:
                files[f] = data.read()
    files = {f: archived_record(f, data) for f, data in files.items()}  # those packed before too
    write_archive(archive, files)
    with open(index_path(archive), "w") as out:
        out.write(archive_index(archive, files))
    return names


def load_records(records, runs_dir):
    """Puts the records kept in records (a directory, or an archive NAME.tar.xz) into runs_dir, where a sweep
    finds its finished runs; nothing if records does not exist yet."""
    if is_archive(records):
        if os.path.exists(records):
            for name, data in read_archive(records).items():
                with open(os.path.join(runs_dir, name), "wb") as out:
                    out.write(data)
    elif os.path.isdir(records):
        copy_records(records, runs_dir)


def save_records(runs_dir, records, names):
    """Keeps the records of the runs named, finished in runs_dir, in records (a directory or an archive)."""
    if is_archive(records):
        pack_records(runs_dir, records, names)
    else:
        copy_records(runs_dir, records, names)


def mark_done(base):
    open(base + ".done", "w").close()


def train_and_score(hftc, options, data_dir, base, scorings, threads, checkpoint=None):
    """One run: hftc train OPTIONS (which write base.hftc; continuing from the checkpoint file if given and
    there) with base.train.log, hftc test of the model on data_dir/test.tsv with each scoring
    (base.SCORING.json, and each document's counts in base.SCORING.docs.tsv), hftc info (base.info.json), then
    base.done. False if the training stopped at its --time-limit (nothing tested, not done)."""
    if train(hftc, options, base + ".train.log", checkpoint) == INCOMPLETE:
        return False
    for scoring in scorings:
        test_json(hftc, base + ".hftc", os.path.join(data_dir, "test.tsv"), f"{base}.{scoring}.json", threads, scoring,
                  ["--doc-counts", f"{base}.{scoring}.docs.tsv"])
    info_json(hftc, base + ".hftc", base + ".info.json")
    mark_done(base)
    return True


def read_scored_run(base, scorings, files=None):
    """What train_and_score left: {"scores": {scoring: test JSON}, "doc_counts": {scoring: [(right, predicted,
    gold)] per test document, or None for a run recorded before they were kept}, "info", "wall", "peak_mb",
    "runs_reused"};
    None if not done. With files (a records archive's, read_archive) the run is read from them, not from
    base.* on disk: base's file name is the run's name there."""
    if files is None:
        if not done(base):
            return None

        def read(suffix):
            with open(base + suffix, "rb") as f:
                return f.read()
        def present(suffix):
            return os.path.exists(base + suffix)
    else:
        name = os.path.basename(base)
        if name + ".done" not in files:
            return None

        def read(suffix):
            return files[name + suffix]

        def present(suffix):
            return name + suffix in files
    run = {"scores": {s: json.loads(read(f".{s}.json")) for s in scorings}, "info": json.loads(read(".info.json"))}
    run["doc_counts"] = {s: significance.read_doc_counts(read(f".{s}.docs.tsv").decode())
                         if present(f".{s}.docs.tsv") else None for s in scorings}
    log = read(".train.log").decode()
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
