"""Drug library as data (``data/<id>.yaml``, :mod:`~twinflow.drugs.model`), pharmacology
(:mod:`~twinflow.drugs.pharmacology`) and the mapping of a regimen onto model parameters
(:mod:`~twinflow.drugs.effects`)."""
