"""Drug library: which drugs a case may name, and how a regimen maps onto model parameters."""

from twinflow.drugs.library import DRUGS, Drug, get_drug

__all__ = ["DRUGS", "Drug", "get_drug"]
