"""The one config loader: environment variables, with a `.env` file in the working folder."""

import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv


@dataclass(frozen=True)
class Config:
    home: Path
    database_url: str
    queue_url: str
    secret_key: str
    alert_smtp_url: str | None
    workers: int
    base_url: str  # where the console is reached, for links in alert emails


def load_config() -> Config:
    """Read the configuration, creating COMMLOG_HOME (default `var`) on demand."""
    # values already in the environment win over the .env file
    load_dotenv(Path.cwd() / ".env", override=False)
    home = Path(os.environ.get("COMMLOG_HOME", "var"))
    home.mkdir(parents=True, exist_ok=True)
    return Config(
        home=home,
        database_url=os.environ.get("COMMLOG_DATABASE_URL") or f"sqlite:///{home}/commlog.db",
        queue_url=os.environ.get("COMMLOG_QUEUE_URL") or f"sqlite:///{home}/queue.db",
        secret_key=os.environ.get("COMMLOG_SECRET_KEY") or _stored_secret_key(home),
        alert_smtp_url=os.environ.get("COMMLOG_ALERT_SMTP_URL") or None,
        workers=int(os.environ.get("COMMLOG_WORKERS") or 4),
        base_url=(os.environ.get("COMMLOG_BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
    )


def _stored_secret_key(home: Path) -> str:
    """Generate the secret key once and keep it in the home folder, readable by its owner only."""
    path = home / "secret_key"
    if not path.exists():
        # written whole to a file of its own (mkstemp: mode 0600), then linked into place: of
        # processes starting together on an empty home, one key wins and each reads it whole
        fd, written = tempfile.mkstemp(dir=home, prefix=".secret_key.")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
            os.link(written, path)
        except FileExistsError:
            pass  # another process's key is in place
        finally:
            os.unlink(written)
    return path.read_text().strip()
