"""Scanner drivers: one module per kind, each exposing an async iterator of raw scans.

``simulated`` reads lines from a file, a FIFO or stdin; ``serial`` (pyserial) and ``evdev``
(keyboard-wedge scanners on Linux) will follow in their own modules with the same shape.
"""
