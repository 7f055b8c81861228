"""Errors of the shared runtime: MQTT transport failures, translated from paho at the boundary."""


class MqttError(Exception):
    """Any failure talking to the broker."""


class MqttConnectError(MqttError):
    """The broker could not be reached or refused the connection."""


class MqttLoginRefused(MqttConnectError):
    """The broker answered and refused this login (bad username or password, not
    authorised, banned): a fault of the settings, which retrying cannot fix."""


class MqttDisconnected(MqttError):
    """The connection was lost (or closed) while something still waited on it."""


class BrokerUrlError(ValueError):
    """An MQTT URL that cannot be used."""
