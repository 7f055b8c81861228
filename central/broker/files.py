"""``ioe broker-config``: read the accounts from central's database, write Mosquitto's files."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from central.broker.accounts import central_password, check_central_account, edge_logins
from central.broker.mosquitto import (
    ACL_FILE,
    CONF_FILE,
    PASSWORD_FILE,
    BrokerLayout,
    render_acl,
    render_conf,
    render_password_file,
    write_file,
)
from central.broker.passwords import mosquitto_hash
from central.db.engine import make_engine
from central.errors import InvalidInput
from central.keys import MasterKey


@dataclass(frozen=True)
class BrokerFiles:
    """What was written: the files, the accounts in them, and edges left without one."""

    files: list[Path]
    centrals: list[str]
    edges: list[str]
    edges_without_account: list[str]


async def write_broker_files(
    *,
    db_url: str,
    master_key: MasterKey,
    out_dir: Path,
    layout: BrokerLayout,
    centrals: Sequence[str],
    owner: tuple[int, int] | None = None,
) -> BrokerFiles:
    """Write passwd and acl (0600: they hold hashes and the plant's layout) and
    mosquitto.conf (0644) into ``out_dir`` from central's database; ``owner`` (uid, gid)
    hands them to the broker's user."""
    names = [check_central_account(name) for name in centrals]
    if not names or len(set(names)) != len(names):
        raise InvalidInput("central broker accounts must be given and distinct")
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            edges, missing = await edge_logins(conn)
    finally:
        await engine.dispose()
    hashes = [(name, mosquitto_hash(central_password(master_key, name))) for name in names]
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / PASSWORD_FILE, out_dir / ACL_FILE, out_dir / CONF_FILE]
    write_file(written[0], render_password_file(edges, hashes), mode=0o600, owner=owner)
    write_file(written[1], render_acl(edges, names), mode=0o600, owner=owner)
    write_file(written[2], render_conf(layout), mode=0o644, owner=owner)
    return BrokerFiles(written, names, [edge.username for edge in edges], missing)
