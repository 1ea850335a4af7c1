#!/usr/bin/env python3
"""scripts/make-wos-dataset on a made-up raw directory: the three splits hold every paper once, each with its
domain and `Domain/area` (one path), stratified by area (an area of one paper stays in training); an area the
taxonomy lacks is added under its domain; the same seed gives the same files, another seed others; a malformed
line is refused with its file and line, and nothing is written then."""
import os
import subprocess
import sys
import tempfile

from checks import check, finish

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "make-wos-dataset")


def run(raw, out, *extra):
    return subprocess.run([sys.executable, SCRIPT, out, "--raw", raw, *extra], capture_output=True, text=True)


def read(out, name):
    with open(os.path.join(out, name), encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


with tempfile.TemporaryDirectory() as tmp:
    raw = os.path.join(tmp, "raw")
    os.makedirs(raw)
    with open(os.path.join(raw, "wos.taxonomy"), "w") as f:
        f.write("Root\tCS\tMedical\nCS\tMachine learning\tCryptography\nMedical\tCancer\n")
    papers = [("CS ", " Machine learning ", f"learning paper {i}") for i in range(10)]
    papers += [("CS", "Cryptography", f"cipher paper {i}") for i in range(5)]
    papers += [("Medical", "Cancer", f"tumour paper {i}") for i in range(9)]
    papers += [("Medical", "Depression", "a lonely paper")]  # not in the taxonomy, and alone
    with open(os.path.join(raw, "Data1k.txt"), "w") as f:
        f.write("Y1\tY2\tY\tDomain\tarea\tkeywords\tAbstract\n")
        for domain, area, text in papers:
            f.write(f"0\t0\t0\t{domain}\t{area}\tkey; words\t\"{text}\"\n")
    out = os.path.join(tmp, "out")
    r = run(raw, out)
    check(r.returncode == 0, f"make-wos-dataset failed: {r.stderr}")
    check("Medical/Depression is not in wos.taxonomy" in r.stderr, "the added area is not said")
    splits = {name: read(out, f"{name}.tsv") for name in ("train", "valid", "test")}
    every = [line for lines in splits.values() for line in lines]
    check(len(every) == len(papers), f"{len(every)} lines for {len(papers)} papers")
    check(sorted(line.split("\t")[1] for line in every) == sorted(p[2] for p in papers), "texts lost or changed")
    for line in every:
        labels, text = line.split("\t")
        domain, area = labels.split(",")
        check(area.startswith(domain + "/"), f"not one path: {labels}")
    check(any(line.startswith("Medical,Medical/Depression\t") for line in splits["train"]),
          "an area of one paper left training")
    check(len(splits["test"]) == 2 + 1 + 2 and len(splits["valid"]) == 1 + 1 + 1,
          f"not stratified: test {len(splits['test'])}, valid {len(splits['valid'])}")
    taxonomy = read(out, "taxonomy.tsv")
    check(taxonomy[0] == "Root\tCS\tMedical", f"top level {taxonomy[0]!r}")
    check("Medical\tMedical/Cancer\tMedical/Depression" in taxonomy, f"taxonomy {taxonomy}")
    again = os.path.join(tmp, "again")
    run(raw, again)
    check(all(read(out, n) == read(again, n) for n in os.listdir(out)), "the same seed gave other files")
    other = os.path.join(tmp, "other")
    run(raw, other, "--seed", "2")
    check(read(out, "train.tsv") != read(other, "train.tsv"), "another seed gave the same split")
    with open(os.path.join(raw, "Data1k.txt"), "a") as f:
        f.write("0\t0\tCS\tno abstract\n")
    bad = os.path.join(tmp, "bad")
    r = run(raw, bad)
    check(r.returncode != 0 and f"Data1k.txt:{len(papers) + 2}: expected 7" in r.stderr, f"bad line: {r.stderr}")
    check(not os.path.exists(bad) or not os.listdir(bad), "files written from bad input")

finish("make-wos-dataset")
