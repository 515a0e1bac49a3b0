"""The rows a fitted estimator scores, checked as scikit-learn's ``validate_data`` checks them.

Live scoring hands a fitted model one window at a time: a finite 2-D float64 array of the
fitted width (``FeatureSchema.check_matrix`` made it). For that input ``validate_data``'s answer
is the array cast to the estimator's dtype, and its per-call checks (feature names, data-frame
detection, tags) cost more than the model's own arithmetic on a window; any other input goes
through ``validate_data`` itself, which raises or warns as it always did.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.utils.validation import validate_data


def fitted_rows(
    estimator: Any,
    X: ArrayLike,
    dtype: type[np.floating[Any]],
    *,
    order: Literal["C"] | None = None,
) -> NDArray[Any]:
    """``validate_data(estimator, X, reset=False, dtype=dtype, order=order)``."""
    if (
        type(X) is np.ndarray
        and X.dtype == np.float64
        and X.ndim == 2
        and X.shape[0] > 0
        and X.shape[1] == getattr(estimator, "n_features_in_", -1)
        and not hasattr(estimator, "feature_names_in_")
    ):
        rows = np.asarray(X, dtype=dtype, order=order)
        if np.isfinite(rows).all():
            return rows
    checked: NDArray[Any] = validate_data(estimator, X, reset=False, dtype=dtype, order=order)
    return checked
