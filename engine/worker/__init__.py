"""The worker runtime behind `engine.sdk`: handler routing, the runner, and its in-process and HTTP backends."""
