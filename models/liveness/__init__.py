"""Liveness: is a person producing this input right now?

* `fingerprint` — compact, non-invertible sketches of a window's timings (keystrokes) or
  displacements (mouse), matched with a tolerance so replays are caught however retimed.
* `humanlike` — population models (one per modality) giving p(machine) of a window.
* `mouse_features` — the mouse window's liveness features, over all its samples at once.
* `bots` — one generator per bot family, for training and attacking the models.
* `replays` — a recording replayed as an attacker may retime it (shifted, scaled, jittered,
  reordered), for the evaluation and the attacks through the live server.
* `quality` — the enrollment quality score in [0, 1] with its reasons.

Pure functions and scikit-learn estimators only: no I/O, no clock, no web, no database.
"""
