"""Can central open its database at all? Asked once at start, before migrations, so an
unreachable server, a database that does not exist or a SQLite file that cannot be made ends
the start with one line that names the problem and what to do, not a driver traceback."""

import asyncio
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from central.db.engine import make_engine
from central.errors import DatabaseUnavailable

CONNECT_TIMEOUT = 10.0  # seconds; a database that does not answer in this time is down


async def check_reachable(db_url: str) -> None:
    """Open one connection to ``db_url`` and close it; DatabaseUnavailable if it cannot."""
    url = make_url(db_url)
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite":
        _check_sqlite_path(url.database)
    engine = make_engine(db_url)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT), engine.connect():
            pass
    except TimeoutError as err:
        raise DatabaseUnavailable(
            f"the database at {shown} did not answer in {CONNECT_TIMEOUT:.0f}s; check that it "
            "runs and that this machine can reach it, or fix --db / IOE_DB_URL"
        ) from err
    except (SQLAlchemyError, OSError) as err:
        raise DatabaseUnavailable(_describe(shown, url.database, err)) from err
    finally:
        await engine.dispose()


def _check_sqlite_path(database: str | None) -> None:
    if database in (None, "", ":memory:"):
        return
    path = Path(database).expanduser()
    if path.is_dir():
        raise DatabaseUnavailable(
            f"the SQLite database {path} is a directory; point --db / IOE_DB_URL at a file"
        )
    if not path.parent.is_dir():
        raise DatabaseUnavailable(
            f"the folder of the SQLite database {path} does not exist; create it or fix "
            "--db / IOE_DB_URL"
        )


def _describe(shown: str, database: str | None, err: BaseException) -> str:
    reason = str(getattr(err, "orig", None) or err).strip().splitlines()
    first = reason[0] if reason else type(err).__name__
    lowered = first.lower()
    if _login_refused(err, lowered):
        return (
            f"the database server refused the login of {shown}: {first}; check the user and "
            "password in --db / IOE_DB_URL (and that pg_hba.conf admits them from this machine)"
        )
    if "does not exist" in lowered and "database" in lowered:
        return (
            f"database {database!r} does not exist on the server of {shown}; create it "
            f"(createdb {database}) or fix --db / IOE_DB_URL"
        )
    if "unable to open database file" in lowered or "readonly" in lowered:
        return (
            f"cannot open or write the SQLite database of {shown}: {first}; check that this "
            "user may write the file and its folder"
        )
    return (
        f"cannot reach the database at {shown}: {first}; start the database server or fix "
        "--db / IOE_DB_URL"
    )


def _login_refused(err: BaseException, lowered: str) -> bool:
    """PostgreSQL answered and refused this login (no such role, wrong password, not admitted
    by pg_hba.conf): SQLSTATE class 28, whatever language the server's messages are in."""
    sqlstate = getattr(getattr(err, "orig", None), "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith("28"):
        return True
    return "password authentication failed" in lowered or "no pg_hba.conf entry" in lowered
