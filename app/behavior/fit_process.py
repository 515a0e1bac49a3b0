"""Fits one user model in a separate process: ``python -m app.behavior.fit_process IN OUT``.

Web workers are daemonic processes (Hypercorn), which may not own a multiprocessing pool, so
training runs as a child process of its own: CPU-bound work never stalls the event loop, and a
crash in training cannot take a worker down. ``IN`` is an ``.npz`` with the schema (JSON),
the genuine and the background feature rows (other users' stored rows, possibly none); ``OUT``
receives the fitted ``UserModel`` (joblib). ``models.live.fit_live_model`` trains against the
shipped background population, so a fresh install with one user gets the evaluated model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import joblib
import numpy as np

from models.live import fit_live_model
from models.schema import FeatureSchema


def main(argv: list[str]) -> int:
    source, target = Path(argv[0]), Path(argv[1])
    with np.load(source, allow_pickle=False) as data:
        schema = FeatureSchema.from_dict(json.loads(str(data["schema"])))
        X_genuine = np.asarray(data["genuine"], dtype=np.float64)
        X_background = np.asarray(data["background"], dtype=np.float64)
    model = fit_live_model(schema, X_genuine, X_background if X_background.size else None)
    joblib.dump(model, target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
