"""GS1 arithmetic every part of IOE shares: the mod-10 check digit of GTINs and SSCCs."""


def gs1_check_digit(digits: str) -> int:
    """The GS1 mod-10 check digit of ``digits``: weights 3, 1, 3, ... from the rightmost digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10
