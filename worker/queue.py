"""The `huey` object, from COMMLOG_QUEUE_URL: SqliteHuey by default, RedisHuey for redis://."""

from huey import RedisHuey, SqliteHuey

from shared.config import load_config


def make_huey(url: str):
    if url.startswith("redis://"):
        return RedisHuey("commlog", url=url)
    if url.startswith("sqlite:///"):
        return SqliteHuey("commlog", filename=url.removeprefix("sqlite:///"))
    raise ValueError(f"COMMLOG_QUEUE_URL must be sqlite:///PATH or redis://HOST:PORT/DB, not {url}")


huey = make_huey(load_config().queue_url)
