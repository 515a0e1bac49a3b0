"""The modalities bbauth learns, in one registry: what each one's windows, features, enrollment
and model are. Every part of the service that handles a modality (the live pipeline, enrollment,
retraining, the simulator) asks here instead of spelling out its own table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

from numpy.typing import ArrayLike

from models.estimators import UserModel
from models.live import KEYSTROKE_SCHEMA, MOUSE_SCHEMA, fit_live_model
from models.liveness.training import shipped as shipped_liveness
from models.schema import FeatureSchema, Modality
from models.windows import KeystrokeWindower, MouseWindower, keystroke_min_size


class WindowSettings(Protocol):
    """The settings a modality's windows and enrollment depend on (``app.settings.Settings``)."""

    @property
    def keystroke_window(self) -> int: ...

    @property
    def mouse_window(self) -> int: ...

    @property
    def evidence_max_age_seconds(self) -> float: ...

    @property
    def enroll_keystroke_windows(self) -> int: ...

    @property
    def enroll_mouse_actions(self) -> int: ...


@dataclass(frozen=True)
class ModalitySpec:
    """One modality: its name and the feature schema of its live windows."""

    name: Modality
    schema: FeatureSchema

    def keystroke_windower(self, settings: WindowSettings) -> KeystrokeWindower:
        """The live keystroke windower (closes windows of ``keystroke_window`` keystrokes)."""
        size = settings.keystroke_window
        return KeystrokeWindower(
            size=size,
            min_size=keystroke_min_size(size),
            stale_ms=settings.evidence_max_age_seconds * 1000.0,
            prior=shipped_liveness("keystroke").prior,
        )

    def mouse_windower(self, settings: WindowSettings) -> MouseWindower:
        """The live mouse windower (closes windows of ``mouse_window`` actions)."""
        return MouseWindower(size=settings.mouse_window)

    def samples_needed(self, settings: WindowSettings) -> int:
        """Enrollment rows before a model is trained (keystroke windows, or mouse actions)."""
        if self.name == "keystroke":
            return settings.enroll_keystroke_windows
        return settings.enroll_mouse_actions

    def fit(self, X_genuine: ArrayLike, X_background: ArrayLike | None = None) -> UserModel:
        """The live model of this modality (``models.live``): what enrollment trains."""
        return fit_live_model(self.schema, X_genuine, X_background)


KEYSTROKE: Final = ModalitySpec("keystroke", KEYSTROKE_SCHEMA)
MOUSE: Final = ModalitySpec("mouse", MOUSE_SCHEMA)
MODALITIES: Final[dict[str, ModalitySpec]] = {m.name: m for m in (KEYSTROKE, MOUSE)}
"""Every modality by name, in the order they are reported."""


def modality(name: str) -> ModalitySpec:
    """The modality called ``name`` (``KeyError`` for an unknown one)."""
    return MODALITIES[name]
