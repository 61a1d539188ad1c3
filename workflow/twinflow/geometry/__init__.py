"""twinflow.geometry package."""
