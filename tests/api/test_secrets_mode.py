"""Secrets and the run mode: outside SSCARD_MODE=demo/dev nothing starts with a public, empty, short or non-hex
key (exit status 2, the variable named); the demo seed writes only into a database `sscard demo` created;
`sscard doctor` lists what is unsafe."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

import sscard as sscard_package
from sscard import migrate
from sscard.api.app import create_app
from sscard.config import InsecureSettings, Mode, Settings, require_safe, secret_problems, web_secret
from sscard.db import Database
from sscard.demo.city import seed_staff
from sscard.demo.errors import NotADemoDatabase
from sscard.demo.models import is_demo, mark_demo
from support.city import Backend, build_city

SSCARD = str(Path(sys.executable).parent / "sscard")
SECRET_VARS = ("SSCARD_KMS_KEK_HEX", "SSCARD_PIN_PEPPER_HEX", "SSCARD_WEB_SECRET_HEX", "SSCARD_AUDIT_KEY_HEX")


def good_secrets() -> dict[str, str]:
    return {name: secrets.token_hex(32) for name in SECRET_VARS}


def _env(url: str, **extra: str) -> dict[str, str]:
    """The environment of a production start: no mode (production is the default), no secrets unless given."""
    env = {k: v for k, v in os.environ.items() if k != "SSCARD_MODE" and k not in SECRET_VARS}
    src = str(Path(sscard_package.__file__).parents[1])  # this checkout's code, whatever the working directory
    path = os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH", "")]))
    return {**env, "SSCARD_DATABASE_URL": url, "COLUMNS": "200", "PYTHONPATH": path, **extra}


def sscard(url: str, *args: str, timeout: int = 120, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SSCARD, *args], env=_env(url, **extra), capture_output=True, text=True,
                          timeout=timeout, check=False, cwd=str(Path(url.split("///")[-1]).parent)
                          if url.startswith("sqlite") else None)


def _tables(url: str) -> list[str]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()


@pytest.mark.parametrize("command", [("migrate",), ("demo",), ("serve", "--workers", "2", "--port", "18655"),
                                     ("jobs", "run")])
def test_production_start_with_no_secrets_set_is_refused(backend: Backend, command: tuple[str, ...]) -> None:
    url = backend.new_url()  # an empty database (PostgreSQL: the attack as reported)
    done = sscard(url, *command, timeout=60)
    assert done.returncode == 2, (done.stdout, done.stderr)
    for name in ("SSCARD_KMS_KEK_HEX", "SSCARD_PIN_PEPPER_HEX", "SSCARD_WEB_SECRET_HEX"):
        assert name in done.stderr
    assert "public default" in done.stderr and "Traceback" not in done.stderr
    assert _tables(url) == []  # nothing migrated, nothing seeded


@pytest.mark.parametrize(("variable", "value", "why"), [
    ("SSCARD_PIN_PEPPER_HEX", "", "not set"),
    ("SSCARD_WEB_SECRET_HEX", "ab", "too short"),
    ("SSCARD_KMS_KEK_HEX", "zz" * 32, "not hex"),
    ("SSCARD_KMS_KEK_HEX", "ab" * 16, "must be 32 bytes"),
    ("SSCARD_PIN_PEPPER_HEX", "00" * 32, "not random"),
    ("SSCARD_PIN_PEPPER_HEX", Settings.model_fields["pin_pepper_hex"].default, "public default"),
])
def test_each_bad_secret_is_refused_by_name(tmp_path: Path, variable: str, value: str, why: str) -> None:
    url = f"sqlite:///{tmp_path / 'prod.db'}"
    done = sscard(url, "migrate", **{**good_secrets(), variable: value})
    assert done.returncode == 2, done.stderr
    assert variable in done.stderr and why in done.stderr
    assert not (tmp_path / "prod.db").exists() or _tables(url) == []


def test_production_with_real_secrets_starts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'prod.db'}"
    done = sscard(url, "migrate", **good_secrets())
    assert done.returncode == 0, done.stderr
    assert "operators" in _tables(url)


def test_the_app_factory_refuses_unsafe_settings_in_every_worker() -> None:
    """`serve --workers N` builds the app in each worker through this factory: it refuses there too."""
    with pytest.raises(InsecureSettings) as refused:
        create_app(settings=Settings(mode=Mode.PRODUCTION))
    assert any("SSCARD_KMS_KEK_HEX" in p for p in refused.value.problems)
    assert require_safe(Settings(mode=Mode.DEV)).mode is Mode.DEV
    good = {k.removeprefix("SSCARD_").lower(): v for k, v in good_secrets().items()}
    assert secret_problems(Settings(mode=Mode.PRODUCTION, **good)) == []


def test_a_one_byte_web_secret_is_refused_where_the_cookies_are_signed() -> None:
    with pytest.raises(InsecureSettings, match="SSCARD_WEB_SECRET_HEX is too short"):
        web_secret(Settings(mode=Mode.PRODUCTION, web_secret_hex="ab"))
    with pytest.raises(InsecureSettings, match="not set"):
        web_secret(Settings(mode=Mode.PRODUCTION, web_secret_hex=""))
    with pytest.raises(InsecureSettings, match="not hex"):  # even in dev: a value that cannot work
        web_secret(Settings(mode=Mode.DEV, web_secret_hex="xyz"))
    assert len(web_secret(Settings(mode=Mode.DEV))) == 32  # dev/demo without one: a random key per process


def test_a_bad_mode_is_a_clear_error(tmp_path: Path) -> None:
    done = sscard(f"sqlite:///{tmp_path / 'x.db'}", "migrate", SSCARD_MODE="prod")
    assert done.returncode == 2 and "SSCARD_MODE" in done.stderr and "Traceback" not in done.stderr


def test_demo_operators_are_never_seeded_into_a_database_not_created_by_the_demo(backend: Backend) -> None:
    url = backend.new_url()
    assert sscard(url, "migrate", **good_secrets()).returncode == 0  # a production database, still empty
    done = sscard(url, "demo", "--persons", "12", SSCARD_MODE="demo")
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "NOT_A_DEMO_DATABASE" in done.stderr
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM operators")).scalar_one() == 0
    finally:
        engine.dispose()
    db = Database(url)
    try:
        with pytest.raises(NotADemoDatabase):
            seed_staff(db)  # the seed itself refuses too, whoever calls it
        assert not is_demo(db)
        mark_demo(db)
        assert is_demo(db)
    finally:
        db.dispose()


def _doctor(url: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return sscard(url, "doctor", **extra)


def test_doctor_lists_what_is_unsafe(backend: Backend, tmp_path: Path) -> None:
    # Defaults in production mode: every public secret listed, exit status 1 (doctor itself always runs).
    url = backend.new_url()
    migrate.upgrade(url)
    done = _doctor(url)
    assert done.returncode == 1, done.stderr
    assert "SSCARD_KMS_KEK_HEX is the public default" in done.stderr
    assert "SSCARD_WEB_SECRET_HEX is not set" in done.stderr
    # Real secrets, an empty database: nothing unsafe.
    keys = good_secrets()
    done = _doctor(url, **keys)
    assert done.returncode == 0, done.stderr
    assert "nothing unsafe" in done.stdout
    # An administrator without TOTP, a demo database in production mode.
    db = Database(url)
    try:
        build_city(db)
        mark_demo(db)
    finally:
        db.dispose()
    done = _doctor(url, **keys)
    assert done.returncode == 1
    assert "administrator t-admin has no TOTP enrolled" in done.stderr
    assert "created by `sscard demo`" in done.stderr and "production mode" in done.stderr


def test_doctor_finds_the_demo_password(tmp_path: Path, run_demo: Callable[[Path], str]) -> None:
    url = run_demo(tmp_path)
    done = _doctor(url, **good_secrets())
    assert done.returncode == 1
    assert "operator admin has the public demo password" in done.stderr


@pytest.fixture
def run_demo() -> Callable[[Path], str]:
    def _run(root: Path) -> str:
        url = f"sqlite:///{root / 'demo.db'}"
        done = sscard(url, "demo", "--persons", "12", timeout=300, SSCARD_MODE="demo")
        assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])
        return url

    return _run
