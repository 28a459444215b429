"""Registry keys you can trust: no empty or short key, no key file silently replaced, none shared with others."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import volreg
from volreg.cli import cli

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file permissions are POSIX")


@pytest.fixture(autouse=True)
def _no_environment_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOLREG_KEY", raising=False)
    monkeypatch.delenv("VOLREG_ALLOW_SHARED_KEY", raising=False)


@pytest.mark.parametrize("key", ["", "short", b"fifteen-bytes!!", "x" * 15])
def test_an_empty_or_short_key_is_refused(key: str | bytes, tmp_path: Path) -> None:
    """A key under 16 bytes would make ID digests guessable: refused, naming the minimum, creating nothing."""
    with pytest.raises(volreg.InvalidValue, match="'key' must be at least 16 bytes"):
        volreg.open(tmp_path / "city.db", key=key)
    assert not (tmp_path / "city.db.key").exists()
    with pytest.raises(volreg.InvalidValue, match="at least 16 bytes"):
        volreg.open(":memory:", key=key)


def test_a_short_environment_key_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """VOLREG_KEY is held to the same minimum."""
    monkeypatch.setenv("VOLREG_KEY", "tiny")
    with pytest.raises(volreg.InvalidValue, match="VOLREG_KEY"):
        volreg.open(tmp_path / "city.db")


def test_sixteen_bytes_are_enough() -> None:
    """The minimum itself is accepted."""
    volreg.open(":memory:", key="x" * 16).close()


def test_a_missing_key_file_of_an_existing_registry_is_an_error_that_creates_nothing(tmp_path: Path) -> None:
    """Not a new random key and a misleading KeyMismatch: an error saying the key file is missing."""
    path = tmp_path / "city.db"
    volreg.open(path).close()
    key = Path(f"{path}.key")
    key.unlink()
    before = path.read_bytes()
    with pytest.raises(volreg.KeyFileError, match=r"city\.db\.key does not exist, but the registry .* does"):
        volreg.open(path)
    assert not key.exists()
    assert before == path.read_bytes()


def test_a_key_file_is_created_only_for_a_new_registry(tmp_path: Path) -> None:
    """A registry created with an explicit key gets no key file later either."""
    path = tmp_path / "city.db"
    volreg.open(path, key="explicit-key-16-bytes").close()
    with pytest.raises(volreg.KeyFileError, match="does not exist"):
        volreg.open(path)
    assert not Path(f"{path}.key").exists()
    volreg.open(path, key="explicit-key-16-bytes").close()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_a_key_file_others_may_read_or_write_is_refused_with_the_chmod(mode: int, tmp_path: Path) -> None:
    """Like ssh: a shared key file is refused, and the message is the command that fixes it."""
    path = tmp_path / "city.db"
    volreg.open(path).close()
    key = Path(f"{path}.key")
    key.chmod(mode)
    with pytest.raises(volreg.KeyFileError, match=f"chmod 600 {key}"):
        volreg.open(path)
    key.chmod(0o600)
    volreg.open(path).close()


def test_a_shared_key_file_can_be_allowed_explicitly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """allow_shared_key=True or VOLREG_ALLOW_SHARED_KEY=1 accept it (a deliberate choice)."""
    path = tmp_path / "city.db"
    volreg.open(path).close()
    Path(f"{path}.key").chmod(0o644)
    volreg.open(path, allow_shared_key=True).close()
    monkeypatch.setenv("VOLREG_ALLOW_SHARED_KEY", "1")
    volreg.open(path).close()


def test_an_empty_key_file_is_refused(tmp_path: Path) -> None:
    """An empty key file would give unkeyed digests."""
    path = tmp_path / "city.db"
    volreg.open(path).close()
    Path(f"{path}.key").write_text("")
    with pytest.raises(volreg.KeyFileError, match="at least 16"):
        volreg.open(path)


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real command line, in a process, as a user runs it."""
    base = {k: v for k, v in os.environ.items() if k not in ("VOLREG_KEY", "VOLREG_ALLOW_SHARED_KEY")}
    return subprocess.run([sys.executable, "-m", "volreg.cli", *args], capture_output=True, text=True,
                          env={**base, **(env or {})}, timeout=120)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_key_file_is_one_line(tmp_path: Path) -> None:
    """An unreadable DB.key: one line on stderr, exit 1, no traceback."""
    path = tmp_path / "city.db"
    volreg.open(path).close()
    Path(f"{path}.key").chmod(0o000)
    done = _cli("check", str(path))
    assert 1 == done.returncode
    assert 1 == len(done.stderr.strip().splitlines()), done.stderr
    assert "cannot be read" in done.stderr and "Traceback" not in done.stderr


def test_a_key_file_that_is_a_directory_is_one_line(tmp_path: Path) -> None:
    """A key 'file' that cannot be read (here a directory, unreadable even for root): one line, exit 1."""
    path = tmp_path / "city.db"
    volreg.open(path, key="explicit-key-16-bytes").close()
    Path(f"{path}.key").mkdir(mode=0o700)
    done = _cli("check", str(path))
    assert 1 == done.returncode, done.stdout
    assert 1 == len(done.stderr.strip().splitlines()), done.stderr
    assert "city.db.key cannot be read" in done.stderr and "Traceback" not in done.stderr
    debug = _cli("--debug", "check", str(path))
    assert "Traceback" in debug.stderr


def test_the_cli_key_file_is_held_to_the_same_rules(tmp_path: Path) -> None:
    """--key-file: a shared file is refused with the chmod; a short one with the minimum."""
    path = tmp_path / "city.db"
    key = tmp_path / "registry.key"
    key.write_text("k" * 32)
    key.chmod(0o644)
    done = _cli("--key-file", str(key), "init", str(path))
    assert 1 == done.returncode and f"chmod 600 {key}" in done.stderr
    key.chmod(0o600)
    key.write_text("short")
    done = _cli("--key-file", str(key), "init", str(path))
    assert 1 == done.returncode and "at least 16" in done.stderr


@pytest.mark.parametrize("how", ["file", "--key-file", "VOLREG_KEY"])
def test_init_names_a_key_location_that_exists(how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """init says where the key is, and that place exists (no DB.key is claimed when there is none)."""
    monkeypatch.chdir(tmp_path)
    args = ["init", "city.db"]
    if how == "--key-file":
        Path("my.key").write_text("m" * 32)
        Path("my.key").chmod(0o600)
        args = ["--key-file", "my.key", *args]
    if how == "VOLREG_KEY":
        monkeypatch.setenv("VOLREG_KEY", "v" * 32)
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert 0 == result.exit_code, result.output
    said = result.output.splitlines()[1]
    if how == "file":
        assert "its key is in city.db.key" in said and Path("city.db.key").is_file()
    else:
        assert "city.db.key" not in said and not Path("city.db.key").exists()
        assert ("--key-file" if how == "--key-file" else "VOLREG_KEY") in said
