"""Settings from the environment and the local secrets file.

``DATABASE_URL`` names the cluster and database and a role that may create roles and databases
(a superuser for the first set-up). Every other connection (the web client, the agents) is derived
from it with the application role's own name and password, kept in ``var/secrets.json``.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

ROOT = Path(__file__).resolve().parent.parent

# Login roles the application uses, besides the administrator's own.
LOGIN_ROLES = (
    "mango_web",
    "mango_agent_provisioner",
    "mango_agent_monitor",
    "mango_agent_documents",
    "mango_agent_scheduler",
    "mango_agent_flowcollector",
)


@dataclass(frozen=True)
class Settings:
    database_url: str
    var_dir: Path
    web_host: str
    web_port: int

    @property
    def dbname(self) -> str:
        return str(conninfo_to_dict(self.database_url).get("dbname") or "mango")

    @property
    def secrets_file(self) -> Path:
        return self.var_dir / "secrets.json"

    def admin_conninfo(self, dbname: str | None = None) -> str:
        """The administrator's connection, to ``dbname`` (default: the application database)."""
        return make_conninfo(self.database_url, dbname=dbname or self.dbname)

    def role_conninfo(self, role: str, dbname: str | None = None) -> str:
        """A connection as one of the application's login roles, over TCP with its password."""
        params = conninfo_to_dict(self.database_url)
        host = str(params.get("host") or "")
        if not host or host.startswith("/"):
            host = "127.0.0.1"
        return make_conninfo(
            self.database_url,
            user=role,
            password=self.secret(role),
            host=host,
            dbname=dbname or self.dbname,
        )

    def secret(self, name: str) -> str:
        """The password of an application login role, from the secrets file (made by the set-up)."""
        value = self._read_secrets().get(name)
        if value is None:
            raise SecretMissing(
                f"no password for {name} in {self.secrets_file}: run `mango setup` (or `make run`) first"
            )
        return value

    def has_secret(self, name: str) -> bool:
        return name in self._read_secrets()

    def ensure_secret(self, name: str) -> str:
        """The set-up's side: the role's password, generated and stored if missing."""
        data = self._read_secrets()
        if name not in data:
            data[name] = secrets.token_urlsafe(24)
            self._write_secrets(data)
        return data[name]

    def forget_secret(self, name: str) -> None:
        """Remove a retired role's password from the secrets file."""
        data = self._read_secrets()
        if data.pop(name, None) is not None:
            self._write_secrets(data)

    def _write_secrets(self, data: dict[str, str]) -> None:
        """Write the file atomically, readable by its owner only from the first byte: a new file
        of a unique name opened with mode 0600, then renamed over the old one."""
        self.var_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".secrets-", suffix=".json", dir=self.var_dir)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(json.dumps(data, indent=2, sort_keys=True))
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.secrets_file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _read_secrets(self) -> dict[str, str]:
        if self.secrets_file.exists():
            return dict(json.loads(self.secrets_file.read_text()))
        return {}


class SecretMissing(RuntimeError):
    """A login role's password is not in the secrets file: the set-up has not run."""


def load(dbname: str | None = None) -> Settings:
    """Read settings from the environment (``DATABASE_URL``, ``MANGO_VAR``, ``MANGO_WEB_*``)."""
    url = os.environ.get("DATABASE_URL") or "postgresql:///mango"
    if dbname:
        url = make_conninfo(url, dbname=dbname)
    return Settings(
        database_url=url,
        var_dir=Path(os.environ.get("MANGO_VAR") or ROOT / "var"),
        web_host=os.environ.get("MANGO_WEB_HOST", "127.0.0.1"),
        web_port=int(os.environ.get("MANGO_WEB_PORT", "8000")),
    )
