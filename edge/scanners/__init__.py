"""Scanner drivers, one module per kind; ``base`` holds what every driver gives the edge.

``simulated`` reads lines from a file, a FIFO or stdin; ``serial`` (pyserial) reads RS-232 and
USB virtual COM port scanners, with ``framing`` cutting bytes into scans and ``serial_ports``
finding the device; ``wedge`` reads USB keyboard-wedge scanners through evdev on Linux (its
pure parts: ``keymaps`` and ``wedge_decoder``). ``hub`` runs them and keeps their state;
``drivers`` picks the driver for a configured kind.
"""
