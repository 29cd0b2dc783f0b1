"""The benchmark's printed table: our figures beside the textbook pipeline's and the targets.

The textbook pipeline is RecursiveCharacterTextSplitter 1000/200 -> all-MiniLM-L6-v2 ->
Chroma, ranked by article with its top chunks de-duplicated (figures of issue 5; SciFact's
are the published BEIR BM25 and MTEB MiniLM ones). Targets are issue 5's.
"""

from typing import Any

COLUMNS = ("hit@1", "hit@5", "hit@10", "mrr@10", "ndcg@10", "strict hit@5", "strict mrr@10")

BASELINES: dict[str, dict[str, dict[str, float]]] = {
    "realtimeqa": {
        "textbook dense": {"hit@5": 0.801, "mrr@10": 0.595},
        "textbook BM25": {"hit@5": 0.80, "mrr@10": 0.59},
    },
    "squad": {
        "textbook dense": {"hit@5": 0.880, "mrr@10": 0.711},
        "textbook BM25": {"hit@5": 0.93, "mrr@10": 0.85},
    },
    "beir": {"MiniLM (MTEB)": {"ndcg@10": 0.645}, "BM25 (BEIR)": {"ndcg@10": 0.665}},
}
TARGETS: dict[str, dict[str, float]] = {
    "realtimeqa": {"hit@5": 0.90, "mrr@10": 0.72},
    "squad": {"hit@5": 0.96, "mrr@10": 0.88, "contains gold": 0.70},
    "beir": {"ndcg@10": 0.70},
}


def render(result: dict[str, Any]) -> str:
    """The result as a plain-text report."""
    kind, index = result["kind"], result["index"]
    docs = f" over {result['docs']} documents" if result["docs"] is not None else ""
    lines = [
        f"{result['dataset']}: {result['questions']} questions{docs}",
        f"indexed in {index['seconds']} s ({index['chunks']} chunks; {len(index['skipped'])} "
        f"documents dropped by the cleaner; {index.get('kept', 1.0):.1%} of their text kept)",
        "",
        f"{'':24}" + "".join(f"{c:>14}" for c in COLUMNS) + f"{'seconds':>9}",
    ]
    baselines = BASELINES.get(kind, {}) if result["dataset"].find("no distractors") < 0 else {}
    for name, figures in baselines.items():
        lines.append(_row(name, figures))
    for mode, figures in result["modes"].items():
        lines.append(_row(f"ours, {mode}", figures, figures.get("seconds")))
    if kind in TARGETS and baselines:
        lines.append(_row("target (issue 5)", TARGETS[kind], prefix="≥"))
    answers = result.get("answers")
    if answers:
        target = TARGETS.get(kind, {}).get("contains gold")
        goal = f" (target ≥ {target:.2f})" if target and baselines else ""
        lines += [
            "",
            f"answers (/api/ask, {answers['questions']} questions, {answers['seconds']} s): "
            f"contains a gold answer {answers['contains gold']:.3f}{goal}, "
            f"token F1 {answers['token f1']:.3f}, refused {answers['refused']}",
        ]
    lines += ["", f"configuration: {result['config']}"]
    return "\n".join(lines)


def _row(name: str, figures: dict[str, Any], seconds: float | None = None, prefix: str = "") -> str:
    cells = "".join(
        f"{prefix + format(figures[c], '.3f'):>14}" if c in figures else f"{'-':>14}"
        for c in COLUMNS
    )
    return f"{name:24}{cells}{'' if seconds is None else format(seconds, '>9.1f')}"
