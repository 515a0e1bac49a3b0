"""The live models: shipped backgrounds, the estimators built on them, and training wiring."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.base import clone

from app.behavior import fit_process
from app.settings import get_settings
from models import windows
from models.anomaly import BackgroundProjection, CosineVerifier, FixedProjection
from models.background import (
    KEYSTROKE_FILE,
    MOUSE_FILE,
    KeystrokeBackground,
    MouseBackground,
    StaleBackgroundError,
    build,
    load_keystroke_background,
    load_mouse_background,
    save,
)
from models.background.build import aalto_features, halves, sapimouse_halves
from models.estimators import UserModel
from models.evaluation import datasets_mouse as dm
from models.evaluation.aalto import TEST_SENTENCES
from models.evaluation.datasets_keyboard import AALTO_ARCHIVE, AaltoParticipant, load_aalto
from models.evaluation.metrics import auc, eer
from models.events import KeyEvent
from models.live import (
    KEYSTROKE_SCHEMA,
    MOUSE_NEGATIVES_PER_GENUINE,
    MOUSE_SCHEMA,
    MOUSE_WINDOW,
    fit_live_keystroke_model,
    fit_live_model,
)
from models.mouse_actions import segment_actions
from models.mouse_rows import actions_matrix
from models.plda import SCORINGS, PldaVerifier
from models.schema import FeatureSchema

DATASETS = get_settings().datasets_dir  # BBAUTH_DATASETS_DIR, else ../shared/datasets
MAX_BYTES = 2_000_000


@pytest.fixture(scope="module")
def keystroke_background() -> KeystrokeBackground:
    return load_keystroke_background(KEYSTROKE_SCHEMA)


@pytest.fixture(scope="module")
def mouse_background() -> MouseBackground:
    return load_mouse_background(MOUSE_SCHEMA)


def test_realtime_windows_use_the_live_schemas() -> None:
    assert windows.KEYSTROKE_SCHEMA is KEYSTROKE_SCHEMA
    assert windows.MOUSE_SCHEMA is MOUSE_SCHEMA


def test_shipped_keystroke_background_follows_the_live_schema(
    keystroke_background: KeystrokeBackground,
) -> None:
    bg = keystroke_background
    d = KEYSTROKE_SCHEMA.n_features
    assert bg.schema == KEYSTROKE_SCHEMA
    assert bg.components.shape == (d, bg.cohort.shape[1])
    assert bg.mean.shape == bg.scale.shape == bg.log_columns.shape == (d,)
    assert bg.impostor_windows.shape[1] == d
    assert np.allclose(np.linalg.norm(bg.cohort, axis=1), 1.0, atol=1e-5)
    assert bg.participants.size == 500
    assert "Aalto" in bg.source


def test_shipped_keystroke_background_holds_the_build_settings(
    keystroke_background: KeystrokeBackground,
) -> None:
    bg = keystroke_background
    assert bg.scoring == build.SCORING
    assert bg.cohort_top == build.COHORT_TOP
    assert bg.components.shape[1] == build.LDA_COMPONENTS
    assert bg.within.shape == bg.between.shape == (build.LDA_COMPONENTS,)
    assert f"{build.LDA_COMPONENTS} components, shrinkage {build.LDA_SHRINKAGE}" in bg.source
    assert bg.impostor_windows.shape[0] == build.IMPOSTOR_WINDOWS
    assert "the live windower" in bg.source  # build.CALIBRATION_WINDOWS == "live"


def test_the_shipped_keystroke_background_is_what_the_aalto_evaluation_chose(
    keystroke_background: KeystrokeBackground,
) -> None:
    chosen = json.loads((Path(__file__).parents[2] / "bench/results/aalto.json").read_text())
    for fold in chosen["chosen"]:
        assert fold["n_components"] == keystroke_background.components.shape[1]
        assert f"shrinkage {fold['shrinkage']})" in keystroke_background.source
        assert fold["scoring"] == keystroke_background.scoring
        assert fold["cohort_top"] == keystroke_background.cohort_top


def _typed(t0: float, n: int, gap_ms: float = 150.0) -> list[KeyEvent]:
    keys = ("KeyA", "KeyS", "KeyD", "KeyF", "Space")
    out: list[KeyEvent] = []
    for i in range(n):
        t = t0 + i * gap_ms
        out += [KeyEvent(t, "down", keys[i % 5]), KeyEvent(t + 80, "up", keys[i % 5])]
    return out


def test_calibration_windows_are_cut_as_the_live_windower_cuts_typing() -> None:
    # Sentences of 30, 30 and 45 keystrokes, 2 s and 10 s apart: windows of 50 keystrokes
    # run across sentences and pauses (as a live session's), the last 5 stay open.
    first, second = _typed(0.0, 30), _typed(30 * 150.0 + 2000.0, 30)
    third = _typed(second[-1].t + 10_000.0, 45)
    rebased = [[dataclasses.replace(e, t=e.t - s[0].t) for e in s] for s in (first, second, third)]
    participant = AaltoParticipant(
        participant_id=1, sentences=rebased, starts_ms=(first[0].t, second[0].t, third[0].t)
    )
    rows = build.live_windows(participant)
    assert rows.shape == (2, KEYSTROKE_SCHEMA.n_features)
    cut = windows.KeystrokeWindower(size=50, min_size=25).feed(first + second + third)
    np.testing.assert_array_equal(rows, np.vstack([w.features for w in cut]))


def test_keystroke_background_calibrates_on_the_windows_it_is_given() -> None:
    rng = np.random.default_rng(0)
    d = KEYSTROKE_SCHEMA.n_features
    people, sentences = 30, 6
    centres = rng.normal(0, 1, (people, 1, d))
    F = np.abs(centres + 0.3 * rng.normal(0, 1, (people, sentences, d))) * 100
    ids = np.arange(people, dtype=np.int64)
    calibration = np.abs(rng.normal(0, 1, (40, d))) * 100
    bg = build.keystroke_background(
        F, ids, ids[1::2], n_components=5, shrinkage=0.1, scoring="plda", calibration=calibration
    )
    assert bg.components.shape == (d, 5)
    assert bg.scoring == "plda"
    np.testing.assert_array_equal(bg.impostor_windows, calibration.astype(np.float32))
    assert "5 components, shrinkage 0.1" in bg.source
    with pytest.raises(ValueError, match="scoring"):
        build.keystroke_background(F, ids, ids[1::2], scoring="euclid")


@pytest.mark.parametrize("scoring", SCORINGS)
def test_live_keystroke_windows_are_scored_as_the_background_says(
    keystroke_background: KeystrokeBackground, scoring: str
) -> None:
    bg = dataclasses.replace(keystroke_background, scoring=scoring)
    rows = np.asarray(bg.impostor_windows, dtype=np.float64)
    enroll, tests = rows[:10], rows[10:40]
    model = fit_live_keystroke_model(KEYSTROKE_SCHEMA, enroll, background=bg)
    assert isinstance(model.estimator, PldaVerifier)
    assert model.estimator.scoring == scoring
    parts = (
        PldaVerifier(projection=bg.projection(), scoring="cosine+plda", cohort_top=bg.cohort_top)
        .fit(enroll)
        .score_parts(tests)
    )
    np.testing.assert_allclose(model.raw_scores(tests), parts[scoring], rtol=1e-9, atol=1e-9)
    window = tests[:1]  # a live keystroke window is one row
    expected = float(model.calibrator.predict(parts[scoring][:1])[0])
    assert model.score_window(window, schema=KEYSTROKE_SCHEMA) == pytest.approx(expected)


def test_shipped_mouse_background_follows_the_live_schema(
    mouse_background: MouseBackground,
) -> None:
    bg = mouse_background
    assert bg.schema == MOUSE_SCHEMA
    assert bg.actions.shape[1] == MOUSE_SCHEMA.n_features
    assert bg.actions.shape[0] <= 5000
    assert bg.users.shape == (bg.actions.shape[0],)
    counts = np.bincount(bg.users)
    assert counts.size == len(bg.user_names) == 40
    assert counts.min() == counts.max()  # balanced across people
    assert np.isfinite(bg.actions).all()


@pytest.mark.parametrize("path", [KEYSTROKE_FILE, MOUSE_FILE], ids=["keystroke", "mouse"])
def test_shipped_files_are_small_and_hold_plain_arrays_only(path: Path) -> None:
    assert path.stat().st_size < MAX_BYTES
    with np.load(path, allow_pickle=False) as data:
        kinds = {data[name].dtype.kind for name in data.files}
    assert kinds <= {"f", "i", "b", "U"}


def test_a_background_built_for_other_features_is_refused(
    tmp_path: Path, keystroke_background: KeystrokeBackground
) -> None:
    old = FeatureSchema("keystroke", 99, KEYSTROKE_SCHEMA.feature_names)
    stale = tmp_path / "keystroke.npz"
    save(stale, KeystrokeBackground(**{**keystroke_background.__dict__, "schema": old}))
    with pytest.raises(StaleBackgroundError, match=r"rebuild it: python -m models\.background"):
        load_keystroke_background(KEYSTROKE_SCHEMA, stale)
    assert load_keystroke_background(old, stale).schema == old


def test_a_background_with_another_fingerprint_is_refused(
    tmp_path: Path, mouse_background: MouseBackground
) -> None:
    path = tmp_path / "mouse.npz"
    save(path, mouse_background)
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    stated = json.loads(str(arrays["schema"]))
    stated["fingerprint"] = "0123456789abcdef"  # as if a feature had been renamed
    arrays["schema"] = np.array(json.dumps(stated))
    np.savez(path, **arrays)
    with pytest.raises(StaleBackgroundError, match="0123456789abcdef"):
        load_mouse_background(MOUSE_SCHEMA, path)


def test_a_missing_background_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"python -m models\.background build"):
        load_mouse_background(MOUSE_SCHEMA, tmp_path / "absent.npz")


def test_fixed_projection_equals_the_learned_projection_and_survives_clone() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (12, 6))
    X = np.abs(np.repeat(centres, 20, axis=0) + rng.normal(0, 1, (240, 6))) * 50
    y = np.repeat(np.arange(12), 20)
    learned = BackgroundProjection(
        n_components=4, log_columns=[True, True, False, True, False, False], cohort_size=60
    ).fit(X, y)
    fixed = learned.fixed()
    assert np.allclose(fixed.transform(X), learned.transform(X))
    assert fixed.cohort_ is not None
    assert np.allclose(fixed.cohort_, learned.cohort_)
    verifier = CosineVerifier(projection=fixed, normalization="as-norm", cohort_top=10)
    a = verifier.fit(X[:5]).score_samples(X[100:120])
    b = clone(verifier).fit(X[:5]).score_samples(X[100:120])
    assert np.allclose(a, b)
    assert isinstance(clone(verifier).projection, FixedProjection)


def test_live_keystroke_model_separates_held_out_aalto_windows() -> None:
    if not (DATASETS / AALTO_ARCHIVE).exists():
        pytest.skip("Aalto archive not available")
    participants = load_aalto(DATASETS)
    evaluation, _ = halves(len([p for p in participants if len(p.sentences) >= 15]))
    complete = [p for p in participants if len(p.sentences) >= 15]
    chosen = [complete[i] for i in evaluation[:20]]
    F, ids = aalto_features(chosen)
    background = load_keystroke_background(KEYSTROKE_SCHEMA)
    assert not np.isin(ids, background.participants).any()  # never a background person
    first_test = F.shape[1] - TEST_SENTENCES
    eers: list[float] = []
    genuine_p: list[float] = []
    impostor_p: list[float] = []
    for u in range(F.shape[0]):
        model = fit_live_model(KEYSTROKE_SCHEMA, F[u, :5])
        impostors = np.stack([F[v, first_test + (u + v) % 5] for v in range(F.shape[0]) if v != u])
        g, i = model.raw_scores(F[u, first_test:]), model.raw_scores(impostors)
        eers.append(eer(g, i))
        genuine_p.extend(model.score(F[u, first_test:]))
        impostor_p.extend(model.score(impostors))
    assert model.kind == "PldaVerifier"
    low = [w for w, p in zip(impostors, model.score(impostors), strict=True) if p < 0.5]
    explained = [model.explain(w, 0.0) for w in low]
    assert explained
    assert all(reasons and all(r.llr < 0 for r in reasons) for reasons in explained)
    assert float(np.mean(eers)) < 0.12  # chance is 0.5; the full evaluation gives ~0.04
    assert auc(genuine_p, impostor_p) > 0.95
    assert np.median(genuine_p) > 0.5 > np.median(impostor_p)


def test_live_mouse_model_scores_its_user_above_others() -> None:
    if not (DATASETS / dm.SAPIMOUSE_ARCHIVE).exists():
        pytest.skip("SapiMouse archive not available")
    root, evaluation, _ = sapimouse_halves(DATASETS)
    assert not set(evaluation) & set(load_mouse_background(MOUSE_SCHEMA).user_names)
    people = evaluation[:3]
    enroll, tests = {}, {}
    for u in people:
        three, one = dm.sapimouse_sessions(root, u)
        enroll[u] = actions_matrix(segment_actions(three.events))
        tests[u] = actions_matrix(segment_actions(one.events))
    model = fit_live_model(MOUSE_SCHEMA, enroll[people[0]])
    assert model.kind == "ForestVerifier"
    assert model.window_calibrator is not None

    def window_values(X: np.ndarray) -> list[float]:
        n = X.shape[0] // MOUSE_WINDOW
        return [model.score_window(X[k * MOUSE_WINDOW : (k + 1) * MOUSE_WINDOW]) for k in range(n)]

    own = window_values(tests[people[0]])
    others = window_values(tests[people[1]]) + window_values(tests[people[2]])
    assert all(0.0 < p < 1.0 for p in own + others)
    window = tests[people[1]][:MOUSE_WINDOW]
    assert all(r.feature in MOUSE_SCHEMA.feature_names for r in model.explain(window, 0.1))
    assert auc(own, others) > 0.8


def _fit_in_child(tmp_path: Path, schema: FeatureSchema, genuine: np.ndarray) -> UserModel:
    source, target = tmp_path / "in.npz", tmp_path / "out.joblib"
    np.savez(
        source,
        schema=np.array(json.dumps(schema.to_dict())),
        genuine=genuine,
        background=np.empty((0, schema.n_features)),
    )
    assert fit_process.main([str(source), str(target)]) == 0
    model = joblib.load(target)
    assert isinstance(model, UserModel)
    return model


def test_training_without_other_users_uses_the_shipped_keystroke_background(
    tmp_path: Path, keystroke_background: KeystrokeBackground
) -> None:
    genuine = np.asarray(keystroke_background.impostor_windows[:20], dtype=np.float64)
    model = _fit_in_child(tmp_path, KEYSTROKE_SCHEMA, genuine)
    assert model.kind == "PldaVerifier"
    assert model.n_background == keystroke_background.impostor_windows.shape[0]
    assert model.enrollment_eer is not None


def test_training_without_other_users_uses_the_shipped_mouse_background(
    tmp_path: Path, mouse_background: MouseBackground
) -> None:
    genuine = np.asarray(mouse_background.actions[mouse_background.users == 0], np.float64)
    model = _fit_in_child(tmp_path, MOUSE_SCHEMA, genuine)
    assert model.kind == "ForestVerifier"
    assert model.n_background == MOUSE_NEGATIVES_PER_GENUINE * genuine.shape[0]
    assert model.window_calibrator is not None


def test_other_users_stored_rows_join_but_never_crowd_out_the_shipped_background(
    mouse_background: MouseBackground, keystroke_background: KeystrokeBackground
) -> None:
    rng = np.random.default_rng(1)
    actions = np.asarray(mouse_background.actions, dtype=np.float64)
    genuine, stored = actions[:50], actions[50:2050] * rng.uniform(0.9, 1.1, (2000, 1))
    mouse = fit_live_model(MOUSE_SCHEMA, genuine, stored)
    assert mouse.n_background == MOUSE_NEGATIVES_PER_GENUINE * 50
    windows_ = np.asarray(keystroke_background.impostor_windows, dtype=np.float64)
    keys = fit_live_model(KEYSTROKE_SCHEMA, windows_[:10], windows_[10:40])
    assert keys.n_background == windows_.shape[0] + 30


def test_a_window_without_window_calibration_gets_the_mean_of_its_rows(
    keystroke_background: KeystrokeBackground,
) -> None:
    rows = np.asarray(keystroke_background.impostor_windows[:8], dtype=np.float64)
    model = fit_live_model(KEYSTROKE_SCHEMA, rows[:6])
    assert model.window_calibrator is None
    assert model.score_window(rows[6:]) == pytest.approx(float(np.mean(model.score(rows[6:]))))
    with pytest.raises(ValueError, match="at least one row"):
        model.score_window(np.empty((0, KEYSTROKE_SCHEMA.n_features)))
