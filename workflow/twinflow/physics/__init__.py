"""twinflow.physics package."""
