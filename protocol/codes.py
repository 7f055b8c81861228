"""Stable codes for rejections (the envelope is invalid) and conflicts (valid, cannot apply)."""

from enum import StrEnum


class RejectCode(StrEnum):
    """Why an envelope or a whole message was refused; nothing was applied."""

    MALFORMED_JSON = "MALFORMED_JSON"
    MESSAGE_TOO_LARGE = "MESSAGE_TOO_LARGE"
    BATCH_NOT_ARRAY = "BATCH_NOT_ARRAY"
    BATCH_EMPTY = "BATCH_EMPTY"
    BATCH_TOO_LARGE = "BATCH_TOO_LARGE"
    NOT_AN_OBJECT = "NOT_AN_OBJECT"
    UNSUPPORTED_VERSION = "UNSUPPORTED_VERSION"
    SCHEMA_INVALID = "SCHEMA_INVALID"
    UNKNOWN_ACTION_TYPE = "UNKNOWN_ACTION_TYPE"
    BODY_INVALID = "BODY_INVALID"
    BAD_SIGNATURE = "BAD_SIGNATURE"
    UNKNOWN_EDGE = "UNKNOWN_EDGE"
    WRONG_EDGE = "WRONG_EDGE"
    BAD_TOPIC = "BAD_TOPIC"


class ConflictCode(StrEnum):
    """Why a valid action could not apply to central's current state; it waits in the inbox."""

    LP_NOT_FOUND = "LP_NOT_FOUND"
    LP_ALREADY_EXISTS = "LP_ALREADY_EXISTS"
    LP_ALREADY_CONSUMED = "LP_ALREADY_CONSUMED"
    LP_SHIPPED = "LP_SHIPPED"
    LP_ON_HOLD = "LP_ON_HOLD"
    QTY_EXCEEDS_LP = "QTY_EXCEEDS_LP"
    PRODUCT_NOT_FOUND = "PRODUCT_NOT_FOUND"
    LOCATION_NOT_FOUND = "LOCATION_NOT_FOUND"
    UOM_MISMATCH = "UOM_MISMATCH"
    WO_NOT_FOUND = "WO_NOT_FOUND"
    WO_NOT_RELEASED = "WO_NOT_RELEASED"
    WO_CLOSED = "WO_CLOSED"
