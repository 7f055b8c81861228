"""Central's signing identity: the Ed25519 key that signs its retained state.

Its private half is derived from the master key, so every replica signs with the same key and
nothing but the master key has to be shared; edges get the public half when provisioned.
"""

from central.settings import CentralSettings
from protocol import central_public_key

STATE_KEY_PURPOSE = "central-state/v1"


def state_signing_seed(settings: CentralSettings) -> bytes:
    """The 32-byte Ed25519 seed central signs ``ioe/v1/central/state`` with."""
    return settings.load_master_key().derive(STATE_KEY_PURPOSE)


def central_key_hex(settings: CentralSettings) -> str:
    """The public key edges verify central's state with, as written into edge.toml."""
    return central_public_key(state_signing_seed(settings)).hex()
