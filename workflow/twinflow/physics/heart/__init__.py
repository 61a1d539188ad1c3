"""The heart: left-ventricular mechanics (:mod:`~twinflow.physics.heart.mechanics`)."""
