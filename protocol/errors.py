"""Protocol errors: every refusal carries a stable machine code and a human message."""


class ProtocolError(ValueError):
    """An envelope, batch or topic that breaks the contract; `code` is a RejectCode value."""

    def __init__(
        self, code: str, message: str, *, action_id: str | None = None, seq: int | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.action_id = action_id
        self.seq = seq


class SignatureRefused(ValueError):
    """A message from central (an ack message, central's state) that must not be believed:
    unreadable, unsigned, meant for someone else, or with a signature that does not match.
    ``reason`` is a stable code for logs and counters."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
