"""Secrets at rest: production refuses weak keys and missing SMTP, TOTP seeds are encrypted,
and the embedded database and the model store are readable by their owner only.

A placeholder key (``change-me``) would let anyone forge a model file the store accepts, and
forge session tokens' HMACs; so ``bbauth serve`` exits with status 2 naming the variable.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from app.factors.totp import code_for
from app.settings import REPO_ROOT, secret_key_weakness
from db.tables import User
from models.estimators import BackgroundSGDVerifier, fit_user_model
from models.schema import FeatureSchema
from models.store import ModelStore
from tests.security.live import Served, StartServer

STRONG = "3f9a1c7e5b2d8f4a6c0e9b7d5f3a1c8e6b4d2f0a9c7e5b3d1f8a6c4e2b0d9f7a"


def mode(path: Path) -> int:
    """The permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


def serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``bbauth serve`` with ``env`` (it must refuse before serving: a short timeout)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("BBAUTH_")}
    full.update({"BBAUTH_VAR_DIR": str(tmp_path / "var"), "BBAUTH_PORT": "1", **env})
    return subprocess.run(
        [sys.executable, "-m", "realtime.cli", "serve"],
        cwd=REPO_ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "key",
    [
        "change-me",
        "short-but-random-Zq8",
        "a" * 64,
        "passwordpasswordpasswordpassword1234",
        "abababababababababababababababababab",
    ],
)
def test_production_refuses_a_weak_or_example_secret_key(tmp_path: Path, key: str) -> None:
    done = serve(
        tmp_path, BBAUTH_ENV="production", BBAUTH_SECRET_KEY=key, BBAUTH_SMTP_HOST="127.0.0.1"
    )

    assert done.returncode == 2
    assert "BBAUTH_SECRET_KEY" in done.stderr
    assert "bbauth is serving" not in done.stdout


def test_production_refuses_to_print_codes_without_smtp(tmp_path: Path) -> None:
    done = serve(tmp_path, BBAUTH_ENV="production", BBAUTH_SECRET_KEY=STRONG)

    assert done.returncode == 2
    assert "BBAUTH_SMTP_HOST" in done.stderr
    assert "BBAUTH_MAIL_TO_CONSOLE" in done.stderr


def test_generated_and_random_keys_are_strong_enough() -> None:
    assert secret_key_weakness(STRONG) is None
    assert secret_key_weakness("kX3_f9QmZ-7bTq2LwP0sNvY8eR4uJ1hG6dC5aB9xW2E") is None


async def test_totp_seeds_are_encrypted_in_the_database(served: Served) -> None:
    http = served.http
    owner = await served.api.create_account()
    token = await http.sign_in(owner)
    secret = (await http.post("/api/auth/totp/setup", token=token)).body["secret"]
    await http.post(
        "/api/auth/totp/confirm", json={"code": code_for(secret, http.clock.now())}, token=token
    )

    async with served.api.state.sessions() as db:
        stored = await db.scalar(select(User.totp_secret).where(User.id == owner.id))

    assert stored is not None
    assert stored.startswith("v1.")
    assert secret not in stored
    # A seed copied to another account's row does not decrypt there.
    with pytest.raises(ValueError, match="does not decrypt"):
        served.api.state.box.open(stored, "totp:someone-else")


async def test_legacy_plain_seeds_are_encrypted_at_start(start_server: StartServer) -> None:
    served = await start_server()
    owner = await served.api.create_account()
    async with served.api.state.sessions() as db:
        user = await db.get(User, owner.id)
        assert user is not None
        user.totp_secret = "JBSWY3DPEHPK3PXP"  # as an earlier version stored it
        await db.commit()

    again = await start_server()

    async with again.api.state.sessions() as db:
        stored = await db.scalar(select(User.totp_secret).where(User.id == owner.id))
    assert stored is not None
    assert stored.startswith("v1.")
    assert again.api.state.box.open(stored, f"totp:{owner.id}") == "JBSWY3DPEHPK3PXP"


async def test_the_embedded_database_and_var_dir_are_owner_only(served: Served) -> None:
    settings = served.api.state.settings
    var_dir = settings.var_dir
    assert mode(var_dir) == 0o700
    if settings.effective_database_url.startswith("sqlite"):
        path = Path(settings.effective_database_url.split("///", 1)[1])
        assert mode(path) == 0o600


def test_the_model_store_writes_owner_only_folders_and_files(tmp_path: Path) -> None:
    schema = FeatureSchema("keystroke", 3, ("hold_median", "dd_median", "ud_median"))
    rng = np.random.default_rng(0)
    model = fit_user_model(
        schema,
        rng.normal(0.0, 1.0, size=(30, 3)),
        rng.normal(2.0, 1.0, size=(60, 3)),
        estimator=BackgroundSGDVerifier(random_state=0),
    )
    store = ModelStore(tmp_path / "models", b"k" * 32)
    user_id = "0b9d2f3e-1111-4222-8333-444455556666"

    store.save(user_id, "keystroke", model)

    root = tmp_path / "models"
    for path in (root, root / user_id, root / user_id / "keystroke"):
        assert mode(path) == 0o700, path
    files = list((root / user_id / "keystroke").iterdir())
    assert files
    for path in files:
        assert mode(path) == 0o600, path
