"""Scanner drivers, one module per kind; ``base`` holds what every driver gives the edge.

``simulated`` reads lines from a file, a FIFO or stdin; ``serial`` (pyserial) reads RS-232 and
USB virtual COM port scanners, with ``framing`` cutting bytes into scans and ``serial_ports``
finding the device; ``evdev`` (keyboard-wedge scanners on Linux) will follow.
"""
