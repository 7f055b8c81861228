"""Every event type is documented in docs/events.md: a ``### type`` heading under ``## Event
types`` with a JSON object as its example payload, and no heading for a type central does not
write."""

import json
import re

from central.events.types import EVENT_TYPES
from harness import REPO

DOC = REPO / "docs" / "events.md"


def sections() -> dict[str, str]:
    """The text under each ``### `` heading of the ``## Event types`` section, by heading."""
    text = DOC.read_text(encoding="utf-8")
    types = text.split("\n## Event types\n", 1)[1].split("\n## ", 1)[0]
    parts = re.split(r"^### (.+)$", types, flags=re.MULTILINE)
    return {name.strip(): body for name, body in zip(parts[1::2], parts[2::2], strict=True)}


def test_every_event_type_has_a_section_with_an_example_payload() -> None:
    found = sections()
    missing = [t for t in EVENT_TYPES if t not in found]
    assert not missing, f"docs/events.md has no section for {missing}"
    for type, body in found.items():
        examples = re.findall(r"```json\n(.*?)\n```", body, flags=re.DOTALL)
        assert examples, f"{type}: no example payload"
        assert isinstance(json.loads(examples[0]), dict), f"{type}: the example is not an object"
        assert "Subject:" in body, f"{type}: its subject is not named"


def test_no_section_names_a_type_central_does_not_write() -> None:
    assert sorted(set(sections()) - set(EVENT_TYPES)) == []
