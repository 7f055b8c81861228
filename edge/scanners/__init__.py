"""Scanner drivers: one module per kind.

``simulated`` reads lines from a file, a FIFO or stdin. ``wedge`` reads USB keyboard-wedge
scanners through evdev on Linux (its pure parts: ``keymaps`` and ``wedge_decoder``) with
``run(on_scan, on_state)`` as ``base`` defines it; ``serial`` (pyserial) follows that shape.
"""
