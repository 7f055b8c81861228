"""Real label data for the barcode tests, with check digits computed, not typed."""

from protocol.gs1 import gs1_check_digit

GS = "\x1d"


def with_check(payload: str) -> str:
    """``payload`` and its GS1 check digit."""
    return payload + str(gs1_check_digit(payload))


def wrong_check(number: str) -> str:
    """``number`` with its last digit replaced by a wrong one."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


GTIN13 = with_check("952123456789")  # an EAN-13 on a box: 9521234567899 (13 digits)
GTIN = "0" + GTIN13  # its GTIN-14
CASE_GTIN = with_check("1952123456789")  # a case of them (indicator 1)
SSCC = with_check("03761234500000001")  # 18 digits
