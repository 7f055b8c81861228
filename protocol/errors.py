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
