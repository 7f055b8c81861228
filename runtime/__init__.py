"""The runtime edge and central build on: the MQTT bridge, serving, the embedded broker, logs."""

__version__ = "0.1.0"
