"""Scanner driver tests: framing, port resolution, the serial driver over pseudo-terminals."""
