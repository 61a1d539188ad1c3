"""Provenance: step records (:mod:`.record`), the case's Workflow Run RO-Crate
(:mod:`.crate`, stage ``provenance``) and ``twinflow replay`` (:mod:`.replay`)."""
