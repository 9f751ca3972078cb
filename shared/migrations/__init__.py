"""Schema upgrades (SPEC §7 `commlog init`/`migrate`): numbered steps in this folder, each run
once, in order, and recorded in the `schema_version` table (playhouse.migrations). New tables and
indexes need no step: create_schema() adds whatever is missing after the steps.

A step changes what create_schema() cannot: it adds, changes or drops columns, drops indexes,
moves data. Steps are also run on a database that create_schema() alone made (some commands
call it), so each must find its change possibly done already (`IF EXISTS`, `IF NOT EXISTS`)."""

from pathlib import Path

from playhouse.migrations import Runner

from shared.db import db, is_sqlite
from shared.models import Message, create_schema

STEPS = Path(__file__).resolve().parent
TABLE = "schema_version"


def _runner() -> Runner:
    return Runner(db.obj, str(STEPS), table_name=TABLE)


def migrate() -> list[str]:
    """Create or upgrade the database; returns the names of the steps run now. A new database
    gets today's schema whole, with every step recorded as done."""
    if is_sqlite():
        # no outer transaction: SQLite's migrator switches foreign keys off around a table
        # rebuild, which only works outside one (each step is atomic by itself); the file's
        # write lock already keeps two migrators from interleaving their writes
        return _migrate()
    with db.atomic():
        # migrators on several machines: one at a time, the others then find nothing to do
        db.execute_sql("SELECT pg_advisory_xact_lock(hashtext('commlog migrate'))")
        return _migrate()


def _migrate() -> list[str]:
    runner = _runner()
    if Message.table_exists():
        ran = runner.up()
    else:
        runner.fake()
        ran = []
    create_schema()
    return ran


def version() -> str | None:
    """The last step the database has, or None for one made before steps existed."""
    done = _runner().applied()
    return max(done) if done else None


def pending() -> list[str]:
    return [step.name for step in _runner().status() if not step.applied]
