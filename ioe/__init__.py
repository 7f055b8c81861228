"""The `ioe` command line and the demo: they compose edge, central and the runtime."""

from runtime import __version__

__all__ = ["__version__"]
