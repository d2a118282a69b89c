"""Integration tests: the real `kg serve` process driven by real clients."""
