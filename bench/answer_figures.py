"""The figures `answer_bench.py` computes from each side's answers (retrieval, answers, timings) and the
table it prints them in, each row with its goal."""

from __future__ import annotations

import math
import re
from collections import Counter
from statistics import median

ANSWERABLE = ("public", "paraphrase")
"""Sets whose questions are searched alone: retrieval is measured on them."""
FOLLOW_UPS = "followups"
"""Follow-ups, each asked after its first question in one conversation: the cited page and the first token
of the follow-up are measured (its search carries the first question, so retrieval is not)."""
MISSING = "-"


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD-style F1 over lower-cased word tokens (citation markers removed)."""
    pred = re.findall(r"\w+", re.sub(r"\[\d+\]", "", prediction).lower())
    ref = re.findall(r"\w+", gold.lower())
    common = sum((Counter(pred) & Counter(ref)).values())
    if not pred or not ref or not common:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def share(hits: int, total: int) -> tuple[float | None, str]:
    """A fraction with its count, or nothing when there was nothing to count."""
    return (hits / total, f"{hits}/{total}") if total else (None, "")


def retrieval_figures(result: dict) -> dict:
    """Page-strict hit@1 and hit@5 per answerable set."""
    figures = {}
    for name, rows in result.get("retrieval", {}).items():
        figures[f"{name}.hit1"] = share(sum(bool(r["pages"]) and r["pages"][0] == r["gold"] for r in rows), len(rows))
        figures[f"{name}.hit5"] = share(sum(r["gold"] in r["pages"] for r in rows), len(rows))
    return figures


def answer_figures(result: dict, golds: dict[str, str]) -> dict:
    """Gold page (within one page) cited, refusals and token F1 per set."""
    figures = {}
    for name, rows in result.get("answers", {}).items():
        if not rows:
            continue
        refused = sum(r["refused"] for r in rows)
        figures[f"{name}.refused"] = share(refused, len(rows))
        if name in (*ANSWERABLE, FOLLOW_UPS):
            cited = sum(any(abs(p - r["gold"]) <= 1 for p in r["cited_pages"]) for r in rows)
            figures[f"{name}.cited"] = share(cited, len(rows))
            f1 = [token_f1(r["text"], golds.get(r["id"], "")) for r in rows]
            figures[f"{name}.f1"] = (sum(f1) / len(f1), "")
    return figures


def timing_figures(result: dict) -> dict:
    """Latency and throughput over every generated (not pre-refused) answer; None where a key is absent."""
    answers = result.get("answers", {})
    rows = [r for name, rows in answers.items() if name != FOLLOW_UPS for r in rows]

    def values(key: str, rows: list[dict] = rows) -> list[float]:
        return [r["timing"][key] for r in rows if key in r["timing"]]

    generated = len(values("seconds"))
    note = f"n={generated}" if generated else ""
    follow_ups = values("seconds_to_first_token", answers.get(FOLLOW_UPS, []))
    return {
        "followups.ttft.p50": (percentile(follow_ups, 0.5), f"n={len(follow_ups)}" if follow_ups else ""),
        "followups.read.p50": (percentile(values("prompt_tokens_read", answers.get(FOLLOW_UPS, [])), 0.5), ""),
        "ttft.p50": (percentile(values("seconds_to_first_token"), 0.5), note),
        "ttft.p95": (percentile(values("seconds_to_first_token"), 0.95), note),
        "seconds.p50": (percentile(values("seconds"), 0.5), note),
        "prompt_tokens.p50": (percentile(values("prompt_tokens"), 0.5), note),
        "decode.p50": (median(values("tokens_per_second")) if values("tokens_per_second") else None, note),
        "index_seconds": (result.get("index_seconds"), ""),
    }


def figures(result: dict, golds: dict[str, str]) -> dict:
    """Every figure of one side, key -> (value or None, count note)."""
    if "error" in result:
        return {}
    return {**retrieval_figures(result), **answer_figures(result, golds), **timing_figures(result)}


# ---------------------------------------------------------------- the table

# key, label, kind (pct, sec, num, int, f1), goal (op, threshold) or None, ratio shown
ROWS = [
    ("public.hit1", "public: retrieval hit@1 (page-strict)", "pct", (">=", 0.90), False),
    ("public.hit5", "public: retrieval hit@5", "pct", None, False),
    ("paraphrase.hit1", "paraphrase: retrieval hit@1 (page-strict)", "pct", (">=", 0.75), False),
    ("paraphrase.hit5", "paraphrase: retrieval hit@5", "pct", None, False),
    ("public.cited", "public: gold page (±1) cited", "pct", (">=", 0.85), False),
    ("public.refused", "public: answerable refused", "pct", ("<=", 0.05), False),
    ("public.f1", "public: token F1 vs gold", "f1", None, False),
    ("paraphrase.cited", "paraphrase: gold page (±1) cited", "pct", (">=", 0.85), False),
    ("paraphrase.refused", "paraphrase: answerable refused", "pct", ("<=", 0.05), False),
    ("paraphrase.f1", "paraphrase: token F1 vs gold", "f1", None, False),
    ("unanswerable.refused", "unanswerable: refused", "pct", (">=", 0.90), False),
    ("manuals-answerable.refused", "manuals: answerable refused", "pct", ("<=", 0.10), False),
    ("manuals-unanswerable.refused", "manuals: unanswerable refused", "pct", (">=", 0.90), False),
    ("followups.cited", "follow-ups: gold page (±1) cited", "pct", None, False),
    ("followups.refused", "follow-ups: refused", "pct", None, False),
    ("followups.f1", "follow-ups: token F1 vs gold", "f1", None, False),
    ("followups.ttft.p50", "follow-ups: first token p50", "sec", ("<=", 3.0), True),
    ("followups.read.p50", "follow-ups: prompt tokens read p50", "int", None, True),
    ("ttft.p50", "first token p50", "sec", ("<=", 6.0), True),
    ("ttft.p95", "first token p95", "sec", None, True),
    ("seconds.p50", "whole answer p50", "sec", None, True),
    ("prompt_tokens.p50", "prompt tokens p50", "int", None, True),
    ("decode.p50", "decode tokens/s p50", "num", None, True),
    ("index_seconds", "indexing the PDF", "sec", None, True),
]


def show(value: float | None, kind: str, note: str = "") -> str:
    """A figure as text."""
    if value is None:
        return MISSING
    formats = {"pct": f"{value:.1%}", "sec": f"{value:.1f} s", "num": f"{value:.1f}", "int": f"{value:.0f}"}
    text = formats.get(kind, f"{value:.3f}")
    return f"{text} ({note})" if note and kind == "pct" else text


def verdict(value: float | None, goal: tuple[str, float] | None) -> str:
    """``met``, ``NOT met`` or nothing, for the figure of now."""
    if goal is None or value is None:
        return ""
    op, threshold = goal
    return "met" if (value >= threshold if op == ">=" else value <= threshold) else "NOT met"


def table_rows(before: dict | None, now: dict) -> list[list[str]]:
    """One row per figure that either side has."""
    rows = []
    for key, label, kind, goal, ratio in ROWS:
        b, n = (before or {}).get(key, (None, "")), now.get(key, (None, ""))
        if b[0] is None and n[0] is None:
            continue
        cells = [label]
        if before is not None:
            cells.append(show(b[0], kind, b[1]))
        cells.append(show(n[0], kind, n[1]))
        if before is not None:
            cells.append(f"{n[0] / b[0]:.2f}x" if ratio and b[0] and n[0] is not None else "")
        goal_text = f"{goal[0].replace('>=', '≥').replace('<=', '≤')} {show(goal[1], kind)}" if goal else ""
        rows.append([*cells, goal_text, verdict(n[0], goal)])
    return rows


def print_table(header: list[str], rows: list[list[str]]) -> None:
    """A plain, aligned text table."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print(line)
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        print("  ".join(cells).rstrip())
