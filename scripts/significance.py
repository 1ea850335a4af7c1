"""Whether a paper's finding holds in the result sweeps (scripts/hft-cnn-tables, htrans-tables, onlstm-tables): a
paired t-test over the seeds (the training's randomness) and a paired bootstrap over the test documents (the test
set's), and the verdict RESULTS.md states. Python standard library only.

A finding is "A beats B" on a metric. It holds when A's mean is above B's and both tests give p < 0.05; "same
direction, not significant" when A's mean is above but a test does not; "reversed" when A's mean is below."""
import math
import random
import statistics

ALPHA = 0.05


def _betacf(a, b, x):
    """The continued fraction of the incomplete beta function (Lentz's method, Numerical Recipes' betacf)."""
    tiny, c, d = 1e-300, 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((a + m2 - 1) * (a + m2)), -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def incomplete_beta(a, b, x):
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def paired_t_p(xs, ys):
    """Two-sided p-value of the paired t-test of xs against ys (one pair per seed); None with fewer than 2 pairs.
    Differences all equal: 0 if they are not 0, else 1."""
    d = [x - y for x, y in zip(xs, ys)]
    if len(d) < 2:
        return None
    mean, sd = statistics.mean(d), statistics.stdev(d)
    if sd == 0.0:
        return 0.0 if mean != 0.0 else 1.0
    t, df = mean / (sd / math.sqrt(len(d))), len(d) - 1
    return incomplete_beta(df / 2.0, 0.5, df / (df + t * t))


def micro_f1(counts, docs=None):
    """Micro-F1 of per-document (right, predicted, gold) counts, over docs (indices; None: all)."""
    rows = counts if docs is None else (counts[i] for i in docs)
    right = predicted = gold = 0
    for r, p, g in rows:
        right, predicted, gold = right + r, predicted + p, gold + g
    return 2.0 * right / (predicted + gold) if predicted + gold else 0.0


def paired_bootstrap_p(a, b, rounds=1000, seed=1):
    """Two-sided p-value of micro-F1(a) > micro-F1(b) (or <) over resamples of the test documents: a and b are the
    two models' per-document (right, predicted, gold) counts on the same documents (hftc test --doc-counts), each
    summed over the seeds' runs. The share of resamples whose difference has the other sign, doubled (at most 1)."""
    if len(a) != len(b) or not a:
        return None
    n, rng, observed = len(a), random.Random(seed), micro_f1(a) - micro_f1(b)
    # the difference per resample from the counts' sums: one pass per resample
    other_sign = 0
    for _ in range(rounds):
        ra = pa = ga = rb = pb = gb = 0
        for i in rng.choices(range(n), k=n):
            x, y = a[i], b[i]
            ra, pa, ga, rb, pb, gb = ra + x[0], pa + x[1], ga + x[2], rb + y[0], pb + y[1], gb + y[2]
        diff = (2.0 * ra / (pa + ga) if pa + ga else 0.0) - (2.0 * rb / (pb + gb) if pb + gb else 0.0)
        other_sign += diff <= 0.0 if observed > 0 else diff >= 0.0
    return min(1.0, 2.0 * other_sign / rounds)


def read_doc_counts(text):
    """hftc test --doc-counts's TSV text: [(right, predicted, gold)] in document order."""
    lines = text.splitlines()
    return [tuple(int(v) for v in line.split("\t")[1:4]) for line in lines[1:] if line.strip()]


def summed(count_lists):
    """Per-document counts summed over runs on the same documents (one list per seed)."""
    return [tuple(sum(c[i][k] for c in count_lists) for k in range(3)) for i in range(len(count_lists[0]))]


def verdict(a_values, b_values, a_counts=None, b_counts=None):
    """(text, p_t, p_boot) for the finding "A beats B": a_values and b_values the metric per seed (paired by seed),
    a_counts and b_counts each seed's per-document counts (or None: no bootstrap)."""
    if not a_values or len(a_values) != len(b_values):
        return "not run", None, None
    diff = statistics.mean(a_values) - statistics.mean(b_values)
    p_t = paired_t_p(a_values, b_values)
    p_boot = (paired_bootstrap_p(summed(a_counts), summed(b_counts))
              if a_counts and b_counts and len(a_counts) == len(b_counts) else None)
    if diff <= 0:
        return "reversed" if diff < 0 else "tie", p_t, p_boot
    tests = [p for p in (p_t, p_boot) if p is not None]
    if tests and all(p < ALPHA for p in tests):
        return "holds", p_t, p_boot
    return "same direction, not significant", p_t, p_boot


def p_text(p):
    return "-" if p is None else ("< 0.001" if p < 0.001 else f"{p:.3f}")


def findings_table(findings, runs_of, title="Findings"):
    """Markdown lines: one row per finding (a_row, b_row, metric, what the paper says), its verdict and p-values.
    runs_of(row) gives that row's runs as {seed: (scores, doc_counts)}: the test JSON of the row's scoring and its
    per-document counts (or None); the seeds both rows have are paired."""
    lines = [f"\n{title} (a paired t-test over the seeds; a paired bootstrap over the test documents, 1,000 "
             f"resamples, micro-F1 only; \"holds\" where both give p < {ALPHA}):\n",
             "| finding | metric | A | B | p, seeds | p, documents | verdict |", "|---|---|---|---|---|---|---|"]
    for a_row, b_row, metric, claim in findings:
        a, b = runs_of(a_row), runs_of(b_row)
        seeds = sorted(set(a) & set(b))
        xs, ys = [a[s][0][metric] for s in seeds], [b[s][0][metric] for s in seeds]
        counts_a, counts_b = [a[s][1] for s in seeds], [b[s][1] for s in seeds]
        with_counts = metric == "micro_f1" and seeds and all(c is not None for c in counts_a + counts_b)
        text, p_t, p_boot = verdict(xs, ys, counts_a if with_counts else None, counts_b if with_counts else None)
        mean = (lambda v: f"{statistics.mean(v):.4f}" if v else "-")
        lines.append(f"| {a_row} > {b_row} ({claim}) | {metric.replace('_', '-')} | {mean(xs)} | {mean(ys)} | "
                     f"{p_text(p_t)} | {p_text(p_boot)} | {text} ({len(seeds)} seeds) |")
    return lines
