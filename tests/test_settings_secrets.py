"""The secrets file: only the set-up creates secrets, and the file is readable by its owner only
from its first byte (a new file of a unique name with mode 0600, renamed over the old one)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from db.settings import SecretMissing, Settings


def _settings(var: Path) -> Settings:
    return Settings(database_url="postgresql:///mango", var_dir=var, web_host="127.0.0.1", web_port=8000)


def test_a_missing_secret_is_an_error_naming_the_set_up(tmp_path: Path) -> None:
    s = _settings(tmp_path / "var")
    with pytest.raises(SecretMissing, match="run `mango setup`"):
        s.secret("mango_web")
    assert not (tmp_path / "var" / "secrets.json").exists(), "reading a secret creates nothing"


def test_the_set_up_writes_secrets_readable_by_their_owner_only(tmp_path: Path) -> None:
    s = _settings(tmp_path / "var")
    first = s.ensure_secret("mango_web")
    assert s.ensure_secret("mango_web") == first == s.secret("mango_web")
    path = tmp_path / "var" / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    s.ensure_secret("mango_agent_scheduler")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["secrets.json"], "no temporary file is left"
    s.forget_secret("mango_web")
    with pytest.raises(SecretMissing):
        s.secret("mango_web")
