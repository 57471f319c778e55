"""Evaluation plots as PNG files: PR curves, confusion matrix, calibration, importance, ETA.

Figures are built with `matplotlib.figure.Figure` directly, never `pyplot`, so no global
backend or figure registry is touched (safe in a server or a test run).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve  # type: ignore[import-untyped]
from sklearn.metrics import (  # type: ignore[import-untyped]
    confusion_matrix,
    precision_recall_curve,
)

from training.labels import CLASSES
from training.metrics import Scored

__all__ = ["write_plots"]


def _pr_curves(model: Scored, baseline: Scored, path: Path) -> None:
    fig = Figure(figsize=(12, 4), layout="constrained")
    axes = fig.subplots(1, 4)
    targets = [(name, model.outcome_class == name, k) for k, name in enumerate(CLASSES)]
    risky = model.outcome_class != CLASSES[0]
    for ax, (name, y, k) in zip(axes, targets, strict=False):
        if y.any():
            p, r, _ = precision_recall_curve(y, model.proba[:, k])
            ax.plot(r, p, label="model")
            p, r, _ = precision_recall_curve(y, baseline.proba[:, k])
            ax.plot(r, p, label="legacy rules", linestyle="--")
        ax.set(title=name, xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02))
    if risky.any():
        p, r, _ = precision_recall_curve(risky, model.risk_score)
        axes[3].plot(r, p, label="model")
        p, r, _ = precision_recall_curve(risky, baseline.risk_score)
        axes[3].plot(r, p, label="legacy rules", linestyle="--")
    axes[3].set(title="risk (fraud ∪ card_trapping)", xlabel="recall", xlim=(0, 1), ylim=(0, 1.02))
    axes[3].legend(loc="lower left")
    fig.savefig(path, dpi=100)


def _confusion(model: Scored, path: Path) -> None:
    predicted = np.array(CLASSES)[model.proba.argmax(axis=1)]
    matrix = confusion_matrix(model.outcome_class, predicted, labels=list(CLASSES))
    fig = Figure(figsize=(5, 4.5), layout="constrained")
    ax = fig.subplots()
    # row-normalised colours show recall per class; the numbers are counts
    share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(CLASSES)):
        for j in range(len(CLASSES)):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center")
    ax.set_xticks(range(len(CLASSES)), CLASSES, rotation=20)
    ax.set_yticks(range(len(CLASSES)), CLASSES)
    ax.set(xlabel="predicted (argmax)", ylabel="true", title="confusion matrix, test period")
    fig.savefig(path, dpi=100)


def _calibration(model: Scored, baseline: Scored, path: Path) -> None:
    risky = model.outcome_class != CLASSES[0]
    fig = Figure(figsize=(5, 5), layout="constrained")
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
    if risky.any() and not risky.all():
        for label, scored in (("model", model), ("legacy rules", baseline)):
            observed, predicted = calibration_curve(
                risky, scored.proba[:, 1:].sum(axis=1), n_bins=10, strategy="uniform"
            )
            ax.plot(predicted, observed, marker="o", label=label)
    # uniform bins: most cases sit near zero, and the high bins are where routing acts
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel="predicted P(fraud ∪ card_trapping)",
        ylabel="observed share",
        title="calibration, test period (10 equal bins)",
    )
    ax.legend(loc="upper left")
    fig.savefig(path, dpi=100)


def _importance(names: list[str], gains: npt.NDArray[np.float64], path: Path) -> None:
    order = np.argsort(gains)[-25:]
    fig = Figure(figsize=(7, 7), layout="constrained")
    ax = fig.subplots()
    ax.barh([names[i] for i in order], gains[order] / max(float(gains.sum()), 1e-12))
    ax.set(xlabel="share of total gain", title="risk classifier: feature importance (top 25)")
    fig.savefig(path, dpi=100)


def _eta(model: Scored, path: Path) -> None:
    has = np.isfinite(model.eta_true) & np.isfinite(model.eta_p50)
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    left, right = fig.subplots(1, 2)
    if has.any():
        truth = model.eta_true[has]
        left.hist(truth - model.eta_p50[has], bins=80)
        left.set(xlabel="hours: actual - P50", ylabel="cases", title="ETA residuals")
        right.scatter(model.eta_p50[has], truth, s=3, alpha=0.3, label="P50")
        right.scatter(model.eta_p90[has], truth, s=3, alpha=0.3, label="P90")
        top = float(max(truth.max(), model.eta_p90[has].max(), 1.0))
        right.plot([0, top], [0, top], color="grey", linewidth=0.8)
        right.set(xscale="symlog", yscale="symlog", xlabel="predicted hours", ylabel="actual hours")
        right.legend(loc="upper left")
    fig.savefig(path, dpi=100)


def write_plots(
    *,
    folder: Path,
    model: Scored,
    baseline: Scored,
    feature_names: list[str],
    importances: npt.NDArray[np.float64],
) -> list[Path]:
    """Write every plot into `folder` and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "pr_curves": folder / "pr_curves.png",
        "confusion": folder / "confusion_matrix.png",
        "calibration": folder / "calibration.png",
        "importance": folder / "feature_importance.png",
        "eta": folder / "eta_residuals.png",
    }
    _pr_curves(model, baseline, paths["pr_curves"])
    _confusion(model, paths["confusion"])
    _calibration(model, baseline, paths["calibration"])
    _importance(feature_names, importances, paths["importance"])
    _eta(model, paths["eta"])
    return list(paths.values())
