"""Developer tools (not shipped with the engine)."""
