"""`ioe central security-events` lists what the API lists, from the database."""

from central.clock import now
from central.db.engine import make_engine
from central.security.events import login_failed, record_apart, token_misuse
from tests.central.api.test_access import cli


async def test_cli_lists_events_seen_last_first(migrated_sqlite_url: str) -> None:
    engine = make_engine(migrated_sqlite_url)
    try:
        for _ in range(3):
            assert await record_apart(
                engine, [login_failed(source="10.0.0.7", detail="GET /x: no token")], at=now()
            )
        misuse = token_misuse(source="10.0.0.8", subject="anna", site="plant-2", detail="403")
        assert await record_apart(engine, [misuse], at=now())
    finally:
        await engine.dispose()
    code, out, err = await cli("central", "security-events", "--db", migrated_sqlite_url)
    assert code == 0, err
    header, *rows = out.splitlines()
    assert header.split("\t") == ["last_seen", "count", "kind", "source", "about", "detail"]
    lines = [line.split("\t")[1:5] for line in rows]
    assert lines == [
        ["1", "TOKEN_MISUSE", "10.0.0.8", "anna"],
        ["3", "LOGIN_FAILED", "10.0.0.7", "-"],
    ]
    code, out, _ = await cli(
        "central", "security-events", "--db", migrated_sqlite_url, "--kind", "LOGIN_FAILED"
    )
    assert code == 0 and out.count("\n") == 2 and "LOGIN_FAILED" in out  # header + one row
