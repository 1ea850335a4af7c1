#!/usr/bin/env python3
"""scripts/runlib.py's run records: which files are a run's records (its scores per scoring, the per-document counts,
the Figure 3 groups' scores NAME.SCORING.labelsN.json; not its model or checkpoint, nor the files of a run whose name
starts with its own), an archive packed from a directory reads back as the directory (the info files without their
"labels"), its index lists the scorings and not the groups, packing again with no run to add keeps the archive, and a
run is read alike from the directory and from the archive."""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import runlib  # noqa: E402
from checks import check, finish  # noqa: E402


LOG = "Elapsed (wall clock) time (h:mm:ss or m:ss): 1:02.50\nMaximum resident set size (kbytes): 2048\n"


def make_run(directory, name, micro):
    scores = {"docs": 10, "micro_f1": micro, "macro_f1": micro / 2}
    files = {".train.log": LOG, ".done": "",
             ".info.json": json.dumps({"preset": "hft-cnn", "labels": [{"name": "a"}],
                                       "training": {"options": {"train": "/d/amazon/train.tsv", "seed": 1}}}),
             ".bsf.json": json.dumps(scores), ".bsf.docs.tsv": "document\tright\tpredicted\tgold\n1\t1\t2\t3\n",
             ".bsf.labels1.json": json.dumps(dict(scores, docs=4)), ".hftc": "model", ".checkpoint": "checkpoint"}
    for suffix, text in files.items():
        with open(os.path.join(directory, name + suffix), "w") as f:
            f.write(text)


with tempfile.TemporaryDirectory() as tmp:
    runs = os.path.join(tmp, "runs")
    os.makedirs(runs)
    make_run(runs, "amazon-hft-cnn-s1", 0.5)
    make_run(runs, "amazon-hft-cnn-s1-train25", 0.25)
    mine = runlib.record_files(os.listdir(runs), ["amazon-hft-cnn-s1"])
    check(mine == sorted("amazon-hft-cnn-s1" + s for s in (".train.log", ".done", ".info.json", ".bsf.json",
                                                             ".bsf.docs.tsv", ".bsf.labels1.json")), mine)
    archive = os.path.join(tmp, "sweep.tar.xz")
    runlib.pack_records(runs, archive)
    files = runlib.read_archive(archive)
    check(len(files) == 12 and "amazon-hft-cnn-s1.bsf.labels1.json" in files, sorted(files))
    check(all("labels" not in json.loads(files[f]) for f in files if f.endswith(".info.json")), "info without labels")
    with open(runlib.index_path(archive)) as f:
        index = f.read()
    check("bsf 0.5000 / 0.2500" in index and "labels1 " not in index and "bsf.labels1" in index, index)
    before = open(archive, "rb").read()
    empty = os.path.join(tmp, "empty")
    os.makedirs(empty)
    runlib.pack_records(empty, archive)
    check(open(archive, "rb").read() == before, "packing no runs keeps the archive")
    for name in ("amazon-hft-cnn-s1", "amazon-hft-cnn-s1-train25"):
        on_disk = runlib.read_scored_run(os.path.join(runs, name), ["bsf"])
        archived = runlib.read_scored_run(os.path.join(runs, name), ["bsf"], files)
        on_disk["info"].pop("labels")
        check(on_disk == archived and archived["wall"] == 62.5 and archived["peak_mb"] == 2.0, f"{name}: {archived}")
finish("test_run_records")
