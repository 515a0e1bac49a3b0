"""A person's behavioral data: exported (GDPR Art. 15 and 20) and erased (Art. 17).

Behavioral data is what bbauth derived from a person's input: the samples (one window's
derived features each), the per-user models and their records, the replay fingerprints and the
profile (enrollment state, measured error rates, enrollment quality). Raw events and key
identities are never stored, so none can be exported. Both operations need a step-up: an
export hands whoever holds the session the owner's feature distribution (what a scripted
impostor would tune itself on), an erasure unprotects the account until it is learned again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.audit import RequestContext
from app.behavior.training import model_store, version_key
from app.privacy import consent
from app.state import AppState
from db.tables import BehaviorProfile, BehaviorSample, Modality, ModelVersion, ReplaySketch
from models.modality import MODALITIES
from models.store import ModelStore, ModelStoreError


@dataclass(frozen=True)
class Erased:
    """What an erasure removed."""

    samples: int
    fingerprints: int
    model_files: int
    profile: bool

    def as_dict(self) -> dict[str, int | bool]:
        return {
            "samples": self.samples,
            "fingerprints": self.fingerprints,
            "model_files": self.model_files,
            "profile": self.profile,
        }


def _model_records(store: ModelStore, user_id: str) -> list[dict[str, Any]]:
    """The metadata of every stored model version of the user (never the model itself)."""
    found = []
    for modality in MODALITIES:
        for version in store.list_versions(user_id, modality):
            try:
                record = store.record(user_id, modality, version)
            except ModelStoreError:
                continue  # a file the store did not write is not the person's model
            found.append(
                {
                    "modality": record.modality,
                    "version": record.version,
                    "kind": record.model_kind,
                    "schema": f"{record.schema_name} v{record.schema_version}",
                    "schema_fingerprint": record.schema_fingerprint,
                    "genuine_windows": record.n_genuine,
                    "background_windows": record.n_background,
                    "eer": record.eer,
                    "created_at": record.created_at,
                }
            )
    return found


async def export(*, state: AppState, db: AsyncSession, user_id: str) -> dict[str, Any]:
    """Everything behavioral bbauth holds about the user, as JSON-ready data."""
    consents = await consent.history(db, user_id)
    profile = await db.get(BehaviorProfile, user_id)
    samples = (
        await db.scalars(
            select(BehaviorSample)
            .where(BehaviorSample.user_id == user_id)
            .order_by(BehaviorSample.id)
        )
    ).all()
    sketches = (
        await db.execute(
            select(ReplaySketch.modality, ReplaySketch.kind, ReplaySketch.created_at)
            .where(ReplaySketch.user_id == user_id)
            .order_by(ReplaySketch.id)
        )
    ).all()
    models = await asyncio.to_thread(_model_records, model_store(state), user_id)
    return {
        "consent": {
            "current_version": consent.CONSENT_VERSION,
            "history": [
                {"version": c.version, "given_at": c.given_at, "withdrawn_at": c.withdrawn_at}
                for c in consents
            ],
        },
        "profile": None
        if profile is None
        else {
            "mode": profile.mode.value,
            "keystroke_model_version": profile.keystroke_model_version,
            "mouse_model_version": profile.mouse_model_version,
            "last_trained_at": profile.last_trained_at,
            "measured": profile.measured,
        },
        "feature_names": {
            name: list(spec.schema.feature_names) for name, spec in MODALITIES.items()
        },
        "samples": [
            {
                "modality": s.modality.value,
                "schema_version": s.schema_version,
                "features": s.features,
                "created_at": s.created_at,
            }
            for s in samples
        ],
        "models": models,
        "fingerprints": [
            {"modality": Modality(m).value, "kind": k, "created_at": at} for m, k, at in sketches
        ],
    }


async def erase(
    *, state: AppState, db: AsyncSession, user_id: str, session_id: str | None, ctx: RequestContext
) -> Erased:
    """Delete the user's samples, fingerprints, profile and models; the user enrolls again
    from scratch (every worker drops the models at its next window)."""
    samples = await db.execute(delete(BehaviorSample).where(BehaviorSample.user_id == user_id))
    sketches = await db.execute(delete(ReplaySketch).where(ReplaySketch.user_id == user_id))
    profiles = await db.execute(delete(BehaviorProfile).where(BehaviorProfile.user_id == user_id))
    # Each version's record holds figures measured on the person's windows.
    await db.execute(delete(ModelVersion).where(ModelVersion.user_id == user_id))
    model_files = await asyncio.to_thread(model_store(state).erase_user, user_id)
    erased = Erased(
        samples=int(getattr(samples, "rowcount", 0) or 0),
        fingerprints=int(getattr(sketches, "rowcount", 0) or 0),
        model_files=model_files,
        profile=bool(getattr(profiles, "rowcount", 0)),
    )
    audit.note(
        state, db, "behavior_erased", ctx, user_id=user_id, session_id=session_id,
        samples=erased.samples, fingerprints=erased.fingerprints,
        model_files=erased.model_files, profile=erased.profile,
    )  # fmt: skip
    await db.commit()
    for modality in MODALITIES:
        await state.kv.set(version_key(user_id, modality), "0", ttl_seconds=3600)
    return erased
