#!/usr/bin/python3
"""Runs the examples of the README and docs/*.md that are marked as checked: a fenced ```sh or ```python
block whose previous line is `<!-- checked -->`. Each page's checked blocks run in order in one fresh
directory that holds a small made-up dataset under the names the examples use (train.tsv, valid.tsv,
test.tsv, taxonomy.tsv, new.txt: two topics of two subtopics each), with the hftc command first on PATH and
the Python package importable; shell blocks run with `sh -e`, Python blocks with this interpreter. A block
that fails fails the test, naming its page and line. Run by ctest with HFTC_BIN and HFTC_LIBRARY set."""
import glob
import os
import random
import re
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MARK = "<!-- checked -->"
TOPICS = {"football": "goal match team league striker keeper pitch cup", "tennis": "serve racket set court ace volley net",
          "physics": "energy atom particle quantum force field light", "biology": "cell gene protein species organism dna"}
PARENTS = {"football": "sport", "tennis": "sport", "physics": "science", "biology": "science"}
COMMON = "the a of and in with won was new".split()


def checked_blocks(path):
    """(line, language, code) of each checked block of a Markdown file."""
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks = []
    for i, line in enumerate(lines):
        match = re.match(r"^```(sh|python)\s*$", line)
        if not match or i == 0 or lines[i - 1].strip() != MARK:
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        blocks.append((i + 1, match.group(1), "\n".join(lines[i + 1:end]) + "\n"))
    return blocks


def write_dataset(directory):
    rng = random.Random(7)
    with open(os.path.join(directory, "taxonomy.tsv"), "w") as f:
        f.write("Root\tsport\tscience\nsport\tfootball\ttennis\nscience\tphysics\tbiology\n")
    for name, count in (("train.tsv", 240), ("valid.tsv", 60), ("test.tsv", 60)):
        with open(os.path.join(directory, name), "w") as f:
            for _ in range(count):
                leaf = rng.choice(sorted(TOPICS))
                words = TOPICS[leaf].split() + COMMON
                f.write(f"{leaf}\t{' '.join(rng.choice(words) for _ in range(10))}\n")
    with open(os.path.join(directory, "new.txt"), "w") as f:
        f.write("the team won the cup with a late goal\nthe protein of the cell and its gene\n")


def run_page(page, blocks, environment):
    failures = 0
    with tempfile.TemporaryDirectory() as directory:
        write_dataset(directory)
        for line, language, code in blocks:
            command = ["sh", "-e", "-c", code] if language == "sh" else [sys.executable, "-c", code]
            result = subprocess.run(command, cwd=directory, env=environment, capture_output=True, text=True,
                                    timeout=600)
            where = f"{os.path.relpath(page, ROOT)}:{line}"
            if result.returncode != 0:
                failures += 1
                print(f"FAILED {where} ({language}, exit {result.returncode}):\n{code}--- stdout\n{result.stdout[-3000:]}"
                      f"--- stderr\n{result.stderr[-3000:]}")
            else:
                print(f"ok {where} ({language})")
    return failures


def main():
    environment = dict(os.environ)
    environment["PATH"] = os.path.dirname(os.environ["HFTC_BIN"]) + os.pathsep + environment.get("PATH", "")
    environment["PYTHONPATH"] = os.path.join(ROOT, "python")
    pages = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
    failures, count = 0, 0
    for page in pages:
        blocks = checked_blocks(page)
        count += len(blocks)
        if blocks:
            failures += run_page(page, blocks, environment)
    if count == 0:
        print("no checked example found")
        return 1
    print(f"{count - failures} of {count} checked examples ran")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
