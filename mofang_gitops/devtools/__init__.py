"""Local control planes for tests, ``dev up`` and the demo; nothing at runtime imports this."""
