"""Memory one loaded user model holds in a scoring worker, per modality.

    python -m bench.bench_model_memory [--people 1] [--share 1.0]

Each modality's model is fit as ``bench.bench_windows`` fits it (the first SapiMouse user's and
Aalto participant's own windows, the first ``--share`` of them, against the shipped
background), saved as the store saves it (joblib), loaded back and made to score one window (so
what scoring builds on first use, a forest's joined tree, exists). ``bytes`` is the model's
numpy arrays and scikit-learn tree buffers (``Tree.__getstate__``), counted once each: a scored
forest's nodes are in its joined tree alone (``models.joined_trees.join_forest``);
``before_bytes`` counts a forest as d845420 kept it: its trees and a float64 genuine share per
node. With ``--people N``, one model per person is loaded into the same process, as a worker
serving N users holds them: ``bytes_per_model_loaded_together`` counts what they share (a
background's projection and cohort, `models.shared`) once.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import Any

import joblib
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.settings import load_settings  # noqa: E402
from bench.bench_windows import batches, replay  # noqa: E402
from models.estimators import ForestVerifier, UserModel  # noqa: E402
from models.evaluation.datasets_mouse import SAPIMOUSE_ARCHIVE  # noqa: E402
from models.modality import KEYSTROKE, MOUSE, ModalitySpec  # noqa: E402
from realtime.simulation.recordings import (  # noqa: E402
    AALTO_ARCHIVE,
    load_aalto_people,
    load_sapimouse_people,
)


def array_bytes(obj: Any) -> int:
    """Bytes of the numpy arrays and scikit-learn trees reachable from ``obj``."""
    seen: set[int] = set()
    total = 0
    stack = [obj]
    while stack:
        o = stack.pop()
        if id(o) in seen or o is None or isinstance(o, (str, bytes, int, float, bool, type)):
            continue
        seen.add(id(o))
        if isinstance(o, np.ndarray):
            root: Any = o
            while isinstance(root, np.ndarray) and root.base is not None:
                root = root.base
            if type(root).__name__ == "Tree" or (isinstance(root, np.ndarray) and root is not o):
                stack.append(root)  # a view: its owner counts the bytes, once
            else:
                total += o.nbytes
        elif type(o).__name__ == "Tree":
            state = o.__getstate__()
            total += state["nodes"].nbytes + state["values"].nbytes
        elif isinstance(o, dict):
            stack.extend(o.values())
        elif isinstance(o, (list, tuple, set, frozenset)):
            stack.extend(o)
        elif hasattr(o, "__dict__"):
            stack.extend(vars(o).values())
        elif hasattr(o, "__slots__"):
            stack.extend(getattr(o, s, None) for s in o.__slots__)
    return total


def loaded(spec: ModalitySpec, rows: list[np.ndarray], share: float) -> tuple[UserModel, int]:
    """A model of ``spec`` fit on the first ``share`` of ``rows``, saved as the store saves it,
    loaded back and made to score a window; with its stored size in bytes."""
    genuine = rows[: max(int(len(rows) * share), 2)]
    buffer = io.BytesIO()
    joblib.dump(spec.fit(np.vstack(genuine)), buffer, compress=3)
    model: UserModel = joblib.load(io.BytesIO(buffer.getvalue()))
    model.score_window(rows[-1], schema=spec.schema)
    return model, buffer.tell()


def measure(
    spec: ModalitySpec, people_rows: list[list[np.ndarray]], share: float
) -> dict[str, Any]:
    """Bytes one loaded model of ``spec`` holds once it has scored a window (the first
    person's), and per model when one worker holds every person's model at once (what they
    share, such as a background's cohort, counted once)."""
    rows = people_rows[0]
    models, sizes = zip(*(loaded(spec, r, share) for r in people_rows), strict=True)
    model = models[0]
    held = array_bytes(model)
    result: dict[str, Any] = {
        "genuine_windows": max(int(len(rows) * share), 2),
        "stored_bytes": sizes[0],
        "bytes": held,
        "before_bytes": held,
        "models_loaded": len(models),
        "bytes_per_model_loaded_together": array_bytes(list(models)) // len(models),
    }
    if isinstance(model.estimator, ForestVerifier):
        forest = model.estimator
        trees = [e.tree_ for e in forest.forest_.estimators_]  # rebuilt from the joined tree
        nodes = sum(tree.node_count for tree in trees)
        result["forest_nodes"] = nodes
        result["joined_tree_bytes"] = array_bytes(forest._joined())
        # The joined tree is in ``held`` (the forest's trees are read from it): the forest as
        # d845420 kept it is that minus the joined tree, plus its trees and a share per node.
        result["before_bytes"] = (
            held - result["joined_tree_bytes"] + sum(map(array_bytes, trees)) + 8 * nodes
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=1)
    parser.add_argument("--share", type=float, default=1.0)
    args = parser.parse_args()
    datasets = load_settings().datasets_dir.resolve()
    people = {
        "mouse": load_sapimouse_people(datasets / SAPIMOUSE_ARCHIVE, limit=args.people),
        "keystroke": load_aalto_people(datasets / AALTO_ARCHIVE, limit=args.people),
    }
    out = {}
    for name, spec in (("mouse", MOUSE), ("keystroke", KEYSTROKE)):
        rows = [replay(spec, batches([person]))["rows"] for person in people[name]]
        out[name] = measure(spec, rows, args.share)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
