"""twinflow: patient-specific cardiovascular simulation.

Medical images plus a drug scenario, written as one validated YAML case file, become a
personalised finite-element model and its results. The package holds all the logic; the
Snakemake rules in ``rules/`` only wire files and call it. The package never imports
Snakemake.
"""

__version__ = "0.1.0"
