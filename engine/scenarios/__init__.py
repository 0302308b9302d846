"""Scenario tests for designers (issue 11): TOML files beside the processes, played against the real engine on a
simulated clock, with a coverage report per process.

- `spec`: `read_scenario(path) -> Scenario` (strict: unknown keys are errors).
- `runner`: `run_scenario(scenario, settings, files) -> ScenarioResult` in a fresh SQLite database.
- `outcome`: what the instance did, and the check of the expectations.
- `coverage`: `coverage_of(results, files) -> [ProcessCoverage]`, as text and as a highlighted SVG.
"""
