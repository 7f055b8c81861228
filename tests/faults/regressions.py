"""Seeds that once broke an invariant, run on every CI run once fixed (tier -> seeds)."""

REGRESSION_SEEDS: dict[str, list[int]] = {
    "sqlite": [],
    "postgresql": [],
}
