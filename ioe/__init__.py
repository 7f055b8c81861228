"""Runtime shared by IOE's deployables: the `ioe` CLI, the MQTT bridge, the embedded broker."""

__version__ = "0.1.0"
