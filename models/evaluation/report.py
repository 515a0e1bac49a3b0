"""Writing evaluation results: JSON figures, a markdown table, ROC and DET plots (PNG)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import norm

from models.evaluation.metrics import roc_points


@dataclass(frozen=True)
class Curve:
    """Scores of one configuration, drawn as one line on the ROC and DET plots."""

    label: str
    genuine: ArrayLike
    impostor: ArrayLike


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=False, default=_json_default)
        fh.write("\n")
    os.replace(tmp, path)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured markdown table; floats get 4 decimals."""

    def cell(v: Any) -> str:
        if isinstance(v, float | np.floating):
            return f"{float(v):.4f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def plot_curves(curves: Sequence[Curve], title: str, roc_path: Path, det_path: Path) -> None:
    """Draw ROC (TAR against FAR) and DET (FRR against FAR, probit axes) plots."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    roc_path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for c in curves:
        p = roc_points(c.genuine, c.impostor)
        ax.plot(p.far, 1 - p.frr, label=c.label, linewidth=1.4)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=0.8)
    ax.set(xlabel="False accept rate", ylabel="True accept rate", title=f"{title}: ROC")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(roc_path, dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5.5, 5))
    lo, hi = 1e-3, 0.6
    for c in curves:
        p = roc_points(c.genuine, c.impostor)
        far = np.clip(p.far, lo, hi)
        frr = np.clip(p.frr, lo, hi)
        ax.plot(norm.ppf(far), norm.ppf(frr), label=c.label, linewidth=1.4)
    ticks = [0.001, 0.01, 0.05, 0.1, 0.2, 0.4]
    ax.set_xticks(norm.ppf(ticks), [f"{t:g}" for t in ticks])
    ax.set_yticks(norm.ppf(ticks), [f"{t:g}" for t in ticks])
    ax.plot(norm.ppf([lo, hi]), norm.ppf([lo, hi]), color="grey", linestyle=":", linewidth=0.8)
    ax.set(xlabel="False accept rate", ylabel="False reject rate", title=f"{title}: DET")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(det_path, dpi=120)
    plt.close(fig)


def write_report(
    name: str,
    out_dir: Path,
    result: dict[str, Any],
    *,
    markdown: str,
    curves: Sequence[Curve] = (),
) -> dict[str, Path]:
    """Write ``<name>.json``, ``<name>.md`` and, given curves, ``<name>_roc.png`` / ``_det.png``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / f"{name}.json", "markdown": out_dir / f"{name}.md"}
    write_json_atomic(paths["json"], result)
    paths["markdown"].write_text(markdown)
    if curves:
        paths["roc"] = out_dir / f"{name}_roc.png"
        paths["det"] = out_dir / f"{name}_det.png"
        plot_curves(curves, name, paths["roc"], paths["det"])
    return paths
