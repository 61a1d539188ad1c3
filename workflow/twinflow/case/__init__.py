"""Case files: the pydantic schema, pint quantities and YAML loading with positions."""

from twinflow.case.load import (
    canonical_text,
    case_id,
    from_canonical,
    load_case,
    to_canonical,
    write_canonical,
)
from twinflow.case.models import BenchmarkCase, CarotidCase, Case, LeftVentricleCase

__all__ = ["BenchmarkCase", "Case", "CarotidCase", "LeftVentricleCase", "canonical_text", "case_id",
           "from_canonical", "load_case", "to_canonical", "write_canonical"]
