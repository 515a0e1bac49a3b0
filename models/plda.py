"""PLDA scoring of keystroke windows in the shared background projection.

`CosineVerifier` compares directions: every discriminant direction counts alike. A
two-covariance PLDA (Ioffe 2006; diagonal, as in speaker verification after LDA) weighs each
direction by how much people differ along it against how much one person varies, which the
background people measure (`models.anomaly.person_variances`). Windows are projected and scaled
to length sqrt(d) (length normalization, Garcia-Romero & Espy-Wilson 2011) before both.

For an enrollment mean ``m`` of ``n`` windows and a test window ``x``, per direction with
within-person variance ``w`` and between-person variance ``b``::

    a = n b / (n b + w)
    llr = log N(x; a m, w + a w / n) - log N(x; 0, w + b)

summed over directions. Like the cosine it is AS-normalized against the projection's impostor
cohort. Measured people-disjoint on Aalto (bench/results/aalto.md): each fold chooses cosine,
PLDA or their sum on its tuning people.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from models.anomaly import CosineVerifier, top_stats
from models.rows import fitted_rows
from models.shared import content_key, derived

Array = NDArray[np.float64]

SCORINGS: tuple[str, ...] = ("cosine", "plda", "cosine+plda")
"""What `PldaVerifier` can score by: the AS-normalized cosine, PLDA, or their sum."""


_DEGENERATE = 1e-9
"""Directions with less variance than this share of the largest one's are left out."""


class PldaTerms(NamedTuple):
    """What `plda_llr` needs of a set of models, computed once: ``llr(X) = (X**2) @ quad +
    X @ weights.T - centre + const``."""

    weights: Array
    centre: Array
    quad: Array
    const: float

    def llr(self, X: Array) -> Array:
        """(tests, models) log-likelihood ratios of rows ``X``."""
        out = ((X**2) @ self.quad)[:, None] + X @ self.weights.T - self.centre[None, :]
        return np.asarray(out + self.const, dtype=np.float64)


def plda_terms(M: Array, n: int, within: Array, between: Array) -> PldaTerms:
    """The terms of models with enrollment means ``M`` of ``n`` windows each.

    A direction along which the background did not vary at all (a discriminant direction of
    features that are exact combinations of others) is evidence of nothing: it is left out, not
    divided by a variance of 1e-27."""
    total = within + between
    used = total > _DEGENERATE * float(total.max())
    within, between = np.where(used, within, 1.0), np.where(used, between, 0.0)
    a = n * between / (n * between + within)
    same = within + a * within / n
    other = within + between
    shrunk = a * M
    return PldaTerms(
        weights=shrunk / same,
        centre=(shrunk**2 / (2.0 * same)).sum(axis=1),
        quad=np.where(used, 0.5 / other - 0.5 / same, 0.0),
        const=0.5 * float(np.sum(np.log(other) - np.log(same))),
    )


def _read_only(terms: PldaTerms) -> PldaTerms:
    for a in (terms.weights, terms.centre, terms.quad):
        a.setflags(write=False)
    return terms


def plda_llr(M: Array, n: int, X: Array, within: Array, between: Array) -> Array:
    """(tests, models) log-likelihood ratios same person : another person of rows ``X``
    against enrollment means ``M`` of ``n`` windows each (diagonal two-covariance PLDA)."""
    return plda_terms(M, n, within, between).llr(X)


class PldaVerifier(CosineVerifier):
    """`CosineVerifier` scored by ``scoring``: ``"cosine"`` (the cosine verifier itself),
    ``"plda"`` or ``"cosine+plda"`` (the sum of both AS-normalized scores).

    The projection must carry ``cohort_``, ``within_`` and ``between_`` (a fitted
    `BackgroundProjection`, or a `FixedProjection` built from one). Always AS-normalized.
    """

    _parameter_constraints: dict[str, list[Any]] = {  # noqa: RUF012
        **CosineVerifier._parameter_constraints,
        "scoring": [StrOptions(set(SCORINGS))],
    }

    def __init__(
        self,
        *,
        projection: Any = None,
        scoring: str = "cosine+plda",
        normalization: Literal["none", "as-norm"] = "as-norm",
        cohort_top: int = 100,
        contamination: float = 0.05,
    ) -> None:
        super().__init__(
            projection=projection,
            normalization=normalization,
            cohort_top=cohort_top,
            contamination=contamination,
        )
        self.scoring = scoring

    def _variances(self) -> tuple[Array, Array]:
        within = getattr(self.projection, "within_", None)
        between = getattr(self.projection, "between_", None)
        if within is None or between is None:
            raise ValueError("PLDA needs a projection with within_ and between_ variances")
        return np.asarray(within, dtype=np.float64), np.asarray(between, dtype=np.float64)

    def _learn(self, X: Array) -> None:
        super()._learn(X)
        if self.scoring == "cosine":
            return
        if self.normalization != "as-norm":
            raise ValueError("PLDA scoring is AS-normalized: normalization must be 'as-norm'")
        within, between = self._variances()
        E = self._embed(X)
        self.root_ = float(np.sqrt(E.shape[1]))
        self.plda_ = plda_terms(
            (E * self.root_).mean(axis=0, keepdims=True), E.shape[0], within, between
        )
        cohort = self._cohort()
        assert cohort is not None  # as-norm, checked above
        llr = self.plda_.llr(cohort * self.root_)
        mean, std = top_stats(llr.T, self.cohort_top)
        self.plda_cohort_mean_, self.plda_cohort_std_ = float(mean[0]), float(std[0])

    def _cohort_terms(self) -> PldaTerms:
        # The cohort windows as one-window models, for the test side of AS-norm: as large as
        # the cohort, so kept out of the model's pickle and computed once per process.
        # Every user's model of one background shares them (`models.shared`).
        terms = self.__dict__.get("_cohort_plda")
        if terms is None:
            within, between = self._variances()
            cohort = self._cohort()
            assert cohort is not None
            root = self.root_
            key = ("plda_cohort", *map(content_key, (cohort, within, between)), root)
            terms = derived(key, lambda: _read_only(plda_terms(cohort * root, 1, within, between)))
            self.__dict__["_cohort_plda"] = terms
        return terms

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("_cohort_plda", None)
        return state

    def _plda(self, X: Array) -> Array:
        T = self._embed(X) * self.root_
        raw = self.plda_.llr(T)[:, 0]
        test_mean, test_std = top_stats(self._cohort_terms().llr(T), self.cohort_top)
        z = (raw - self.plda_cohort_mean_) / self.plda_cohort_std_
        t = (raw - test_mean) / test_std
        return np.asarray(0.5 * (z + t), dtype=np.float64)

    def _score(self, X: Array) -> Array:
        if self.scoring == "cosine":
            return super()._score(X)
        if self.scoring == "plda":
            return self._plda(X)
        return np.asarray(super()._score(X) + self._plda(X), dtype=np.float64)

    def score_parts(self, X: Array) -> dict[str, Array]:
        """Every scoring's scores of rows ``X`` (the model fitted with any ``scoring`` but
        ``"cosine"``), for choosing among them without fitting three models."""
        if self.scoring == "cosine":
            raise ValueError("score_parts needs a model fitted for PLDA scoring")
        check_is_fitted(self)
        Xv: Array = fitted_rows(self, X, np.float64)
        cosine, plda = super()._score(Xv), self._plda(Xv)
        return {"cosine": cosine, "plda": plda, "cosine+plda": cosine + plda}
