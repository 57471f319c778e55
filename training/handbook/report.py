"""Our figures beside the Handbook's published ones, as a markdown table."""

from __future__ import annotations

from typing import Any

__all__ = ["render_markdown"]


def _cell(mean: float, std: float | None) -> str:
    return f"{mean:.3f}" if not std else f"{mean:.3f} ± {std:.3f}"


def render_markdown(result: dict[str, Any]) -> str:
    """A markdown report of one JSON result (`BenchmarkResult.to_dict()`)."""
    protocol = result["protocol"]
    lines = [
        f"## Fraud Detection Handbook, {protocol} protocol (test folds)",
        "",
        "| model | AUC ROC | AP | CP@100 |",
        "| --- | --- | --- | --- |",
    ]
    for row in result["published"]:
        lines.append(
            f"| {row['model']} (published) | {row['auc']:.3f} | {row['ap']:.3f} "
            f"| {row['cp100']:.3f} |"
        )
    fidelity = result.get("fidelity")
    if fidelity:
        lines.append(
            f"| logistic regression, 15 baseline features (ours, fidelity check) "
            f"| {fidelity['auc']:.3f} | {fidelity['ap']:.3f} | {fidelity['cp100']:.3f} |"
        )
    model = result["model"]
    lines.append(
        f"| **settlewatch: LightGBM on {model['features']} features** "
        f"| **{_cell(result['auc'], result.get('auc_std'))}** "
        f"| **{_cell(result['ap'], result.get('ap_std'))}** "
        f"| **{_cell(result['cp100'], result.get('cp100_std'))}** |"
    )
    lines += ["", "| test fold (training week) | AUC ROC | AP | CP@100 | test rows | frauds |",
              "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for fold in result["folds"]:
        lines.append(
            f"| {fold['train_start']} | {fold['auc']:.3f} | {fold['ap']:.3f} "
            f"| {fold['cp100']:.3f} | {fold['test_rows']:,} | {fold['test_frauds']} |"
        )
    lines += [
        "",
        f"Parameters chosen on the validation folds: `{model['params']}`.",
        "",
        "| parameters | validation AUC | AP | CP@100 |",
        "| --- | --- | --- | --- |",
    ]
    for row in result["selection"]:
        lines.append(
            f"| `{row['params']}` | {row['auc']:.3f} | {row['ap']:.3f} | {row['cp100']:.3f} |"
        )
    if fidelity:
        verdict = "within" if fidelity["within_tolerance"] else "NOT within"
        lines += ["", f"Fidelity check: {verdict} {fidelity['tolerance']} of the published "
                  f"logistic regression ({fidelity['train_rows']:,} training rows, "
                  f"{fidelity['test_rows']:,} test rows, {fidelity['test_frauds']} test "
                  "frauds)."]  # fmt: skip
    seconds = result["seconds"]
    lines += ["", "Seconds: " + ", ".join(f"{k} {v}" for k, v in seconds.items()) + "."]
    return "\n".join(lines) + "\n"
