"""The one config loader."""

import multiprocessing

import pytest

from shared.config import _stored_secret_key, load_config


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in (
        "COMMLOG_HOME",
        "COMMLOG_DATABASE_URL",
        "COMMLOG_QUEUE_URL",
        "COMMLOG_SECRET_KEY",
        "COMMLOG_ALERT_SMTP_URL",
        "COMMLOG_WORKERS",
    ):
        # set, then delete: undoing both leaves the variable as it was, even after a .env
        # file has put it into os.environ during the test
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_create_var_and_a_stable_secret_key(clean_env):
    config = load_config()
    assert config.home.name == "var" and (clean_env / "var").is_dir()
    assert config.database_url == "sqlite:///var/commlog.db"
    assert config.queue_url == "sqlite:///var/queue.db"
    assert config.workers == 4 and config.alert_smtp_url is None
    assert len(config.secret_key) == 64
    assert load_config().secret_key == config.secret_key
    assert (clean_env / "var" / "secret_key").stat().st_mode & 0o077 == 0


def test_dotenv_is_honoured_and_the_environment_wins(clean_env, monkeypatch):
    (clean_env / ".env").write_text(
        "COMMLOG_WORKERS=7\nCOMMLOG_QUEUE_URL=redis://127.0.0.1:6390/0\n"
    )
    monkeypatch.setenv("COMMLOG_WORKERS", "2")
    config = load_config()
    assert config.workers == 2
    assert config.queue_url == "redis://127.0.0.1:6390/0"


def _read_key(home, barrier, keys):
    barrier.wait()
    try:
        keys.put(_stored_secret_key(home))
    except Exception as exc:  # what the test reports: any error is a failure
        keys.put(f"error: {exc!r}")


def test_processes_starting_together_make_one_secret_key_and_each_reads_it_whole(tmp_path):
    """A worker's processes (and honcho's web and worker) start at the same moment on an empty
    home folder: one key is made, none of them fails or reads it half written."""
    context = multiprocessing.get_context("fork")
    for attempt in range(20):
        home = tmp_path / str(attempt)
        home.mkdir()
        barrier, keys = context.Barrier(8), context.Queue()
        processes = [
            context.Process(target=_read_key, args=(home, barrier, keys)) for _ in range(8)
        ]
        for process in processes:
            process.start()
        read = [keys.get(timeout=30) for _ in processes]
        for process in processes:
            process.join(timeout=30)
        assert len(set(read)) == 1, read
        assert len(read[0]) == 64 and read[0] == (home / "secret_key").read_text()
        assert [p.name for p in home.iterdir()] == ["secret_key"]  # nothing left behind
        assert (home / "secret_key").stat().st_mode & 0o077 == 0
