#!/usr/bin/env python3
"""scripts/significance.py, the result sweeps' verdicts: the t-test's p-values against closed forms (1 and 2 degrees
of freedom), the incomplete beta function against I_x(1, 1/2) = 1 - sqrt(1 - x), the micro-F1 of per-document
counts, the paired bootstrap (the same model: p = 1; a model right on a tenth more documents: p < 0.001), and the
verdict's words, and the findings table the table scripts print."""
import math
import os
import random
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import significance as s  # noqa: E402
from checks import check, finish  # noqa: E402


def t_exact(d):
    n, t = len(d), statistics.mean(d) / (statistics.stdev(d) / math.sqrt(len(d)))
    return 1 - abs(t) / math.sqrt(t * t + 2) if n == 3 else 1 - 2 / math.pi * math.atan(abs(t))


for xs, ys in [([0.5, 0.52, 0.51], [0.48, 0.49, 0.5]), ([0.3, 0.31, 0.35], [0.1, 0.12, 0.11]), ([1, 2], [0.5, 1.8])]:
    p = s.paired_t_p(xs, ys)
    check(abs(p - t_exact([x - y for x, y in zip(xs, ys)])) < 1e-12, f"t-test {xs} {ys}: {p}")
check(s.paired_t_p([1], [0]) is None and s.paired_t_p([1, 2], [1, 2]) == 1.0 and s.paired_t_p([2, 3], [1, 2]) == 0.0,
      "t-test edge cases")
for x in (0.01, 0.3, 0.7, 0.99):
    check(abs(s.incomplete_beta(1, 0.5, x) - (1 - math.sqrt(1 - x))) < 1e-12, f"I_{x}(1, 1/2)")

rng = random.Random(5)
a = [(rng.randint(0, 2), 2, 3) for _ in range(2000)]
check(abs(s.micro_f1(a) - 2 * sum(r for r, _, _ in a) / (sum(p + g for _, p, g in a))) < 1e-15, "micro-F1")
check(s.paired_bootstrap_p(a, a) == 1.0, "the same model: p = 1")
better = [(min(r + (i % 10 == 0), p), p, g) for i, (r, p, g) in enumerate(a)]
check(s.paired_bootstrap_p(better, a) < 0.001, "a better model: p < 0.001")
check(s.paired_bootstrap_p(a, better) < 0.001, "a worse model: p < 0.001 (two-sided)")
check(s.verdict([0.6, 0.61, 0.62], [0.5, 0.5, 0.51], [better] * 3, [a] * 3)[0] == "holds", "holds")
check(s.verdict([0.6, 0.5, 0.62], [0.5, 0.55, 0.51])[0] == "same direction, not significant", "not significant")
check(s.verdict([0.5, 0.5, 0.51], [0.6, 0.61, 0.62])[0] == "reversed", "reversed")
check(s.read_doc_counts("document\tright\tpredicted\tgold\n1\t1\t2\t3\n2\t0\t0\t1\n") == [(1, 2, 3), (0, 0, 1)],
      "read_doc_counts")
check(s.summed([[(1, 2, 3)], [(0, 1, 3)]]) == [(1, 3, 6)], "summed")
lines = s.findings_table([("A", "B", "micro_f1", "A is better")],
                         lambda row: {seed: ({"micro_f1": s.micro_f1(c)}, c)
                                      for seed, c in enumerate([better, better] if row == "A" else [a, a])})
check(any("| A > B (A is better) | micro-f1 |" in line and "holds" in line for line in lines), "\n".join(lines))
finish("test_significance")
