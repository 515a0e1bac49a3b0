"""Settings: one typed object from BBAUTH_* variables; a bad value stops the start, naming it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from app.settings import SettingsError, load_settings
from db.migrate import alembic_config, downgrade, upgrade

BBAUTH = Path(sys.executable).with_name("bbauth")


def run_bbauth(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BBAUTH_")}
    return subprocess.run(
        [str(BBAUTH), *args],
        env={**clean, "BBAUTH_VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BBAUTH_PORT", "abc"),
        ("BBAUTH_PORT", "70000"),
        ("BBAUTH_DATABASE_URL", "mysql://x"),
        ("BBAUTH_REDIS_URL", "http://127.0.0.1:6379"),
        ("BBAUTH_ENV", "staging"),
        ("BBAUTH_OTP_TTL_SECONDS", "0"),
        ("BBAUTH_LOG_LEVEL", "LOUD"),
    ],
)
def test_an_invalid_variable_is_named_in_the_error(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(SettingsError) as raised:
        load_settings()

    assert variable in str(raised.value)


@pytest.mark.parametrize(
    ("variable", "value", "command"),
    [
        ("BBAUTH_PORT", "abc", ("serve",)),
        ("BBAUTH_DATABASE_URL", "mysql://x", ("db", "upgrade")),
        ("BBAUTH_CORS_ORIGINS", "not json", ("serve",)),
    ],
)
def test_the_cli_refuses_to_start_with_exit_code_2(
    variable: str, value: str, command: tuple[str, ...], tmp_path: Path
) -> None:
    result = run_bbauth(*command, env={variable: value}, tmp_path=tmp_path)

    assert result.returncode == 2
    assert variable in result.stderr
    assert "Traceback" not in result.stderr
    assert "serving" not in result.stdout


def test_defaults_serve_an_embedded_sqlite_database_under_var(tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path, database_url="", redis_url="")

    assert settings.effective_database_url == f"sqlite+aiosqlite:///{tmp_path / 'bbauth.sqlite3'}"
    assert settings.effective_public_url == "http://127.0.0.1:5001"
    assert settings.otp_ttl_seconds == 300
    assert settings.otp_max_attempts == 5


def test_variables_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BBAUTH_PORT", "8123")
    monkeypatch.setenv("BBAUTH_DATABASE_URL", " postgresql+asyncpg://u@h/db ")

    settings = load_settings()

    assert settings.port == 8123
    assert settings.database_url == "postgresql+asyncpg://u@h/db"


def test_a_missing_secret_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path, secret_key="")

    first = settings.resolved_secret_key()
    second = load_settings(var_dir=tmp_path, secret_key="").resolved_secret_key()

    assert first == second
    assert len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    "command", [("serve",), ("seed-demo",), ("train", "--all"), ("simulate", "--quick")]
)
def test_commands_on_a_database_without_its_schema_say_to_migrate(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    result = run_bbauth(*command, env={"BBAUTH_PORT": "1"}, tmp_path=tmp_path)

    assert result.returncode == 2
    assert "the database has no schema yet" in result.stderr
    assert "run `bbauth db upgrade` first" in result.stderr
    assert "Traceback" not in result.stderr
    assert "serving" not in result.stdout


def test_a_database_behind_the_code_is_refused_and_one_upgrade_lets_it_serve(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bbauth.sqlite3'}"
    upgrade(url)
    downgrade(url, "-1")
    (head,) = ScriptDirectory.from_config(alembic_config(url)).get_heads()

    behind = run_bbauth("seed-demo", env={}, tmp_path=tmp_path)
    migrated = run_bbauth("db", "upgrade", env={}, tmp_path=tmp_path)
    seeded = run_bbauth("seed-demo", env={}, tmp_path=tmp_path)

    assert behind.returncode == 2
    assert f", not {head} (sqlite+aiosqlite:///" in behind.stderr
    assert migrated.returncode == 0
    assert seeded.returncode == 0, seeded.stderr
    assert "alice@bbauth.local" in seeded.stdout


def test_a_database_that_cannot_be_reached_is_said_without_its_password(
    tmp_path: Path,
) -> None:
    url = "postgresql+asyncpg://postgres:hunter2@127.0.0.1:1/bbauth"
    result = run_bbauth("seed-demo", env={"BBAUTH_DATABASE_URL": url}, tmp_path=tmp_path)

    assert result.returncode == 2
    assert result.stderr.startswith(
        "bbauth: cannot use the database at postgresql+asyncpg://postgres:***@127.0.0.1:1/bbauth"
    )
    assert "hunter2" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_database_newer_than_the_code_is_said_and_used(tmp_path: Path) -> None:
    # A newer release migrated it; this older code goes on, as in a rolling deploy.
    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'bbauth.sqlite3'}")
    with closing(sqlite3.connect(tmp_path / "bbauth.sqlite3")) as db, db:
        db.execute("UPDATE alembic_version SET version_num = 'f00d'")

    seeded = run_bbauth("seed-demo", env={}, tmp_path=tmp_path)

    assert seeded.returncode == 0, seeded.stderr
    assert "the database is at revision f00d, newer than this code" in seeded.stderr
    assert "alice@bbauth.local" in seeded.stdout


def test_db_upgrade_to_a_revision_that_does_not_exist_is_said_in_one_line(
    tmp_path: Path,
) -> None:
    result = run_bbauth("db", "upgrade", "f00d", env={}, tmp_path=tmp_path)

    assert result.returncode == 2
    assert result.stderr == "bbauth db upgrade: Can't locate revision identified by 'f00d'\n"


def test_db_upgrade_of_a_database_out_of_reach_is_said_without_its_password(
    tmp_path: Path,
) -> None:
    url = "postgresql+asyncpg://postgres:hunter2@127.0.0.1:1/bbauth"
    result = run_bbauth("db", "upgrade", env={"BBAUTH_DATABASE_URL": url}, tmp_path=tmp_path)

    assert result.returncode == 2
    assert result.stderr.startswith(
        "bbauth db upgrade: cannot use the database at "
        "postgresql+asyncpg://postgres:***@127.0.0.1:1/bbauth: "
    )
    assert result.stderr.count("\n") == 1
    assert "hunter2" not in result.stderr
