"""The drug library a case's scenarios name.

Each entry records the regimen range studied in the clinical literature and the mechanisms a
model can represent, with the source of every number. How a regimen (dose, frequency,
duration) changes model parameters is computed by the drug-arm stage from these entries; the
case schema only needs the identifiers and the studied ranges to validate a case.

Sources (see ../shared/docs/reference-data.md):
- Thürmann PA et al. 1998, Circulation 98:2037-2042 — valsartan 80 mg/day (160 mg if needed),
  8 months, n = 29 hypertensive patients with LVH: LVMI 127 ± 23 -> 106 ± 25 g/m^2 (-17 %),
  blood pressure 163/101 -> 146/90 mmHg, wall thickness and LV diameters decreased.
- McMurray JJV et al. 2014, NEJM 371:993-1004 (PARADIGM-HF) — sacubitril/valsartan 97/103 mg
  twice daily (target dose) vs enalapril in HFrEF.
- Romano G et al. 2019, J Clin Med 8:2165 — sacubitril/valsartan reduced E/A ratio, mitral
  regurgitation, TR velocity and NT-proBNP ("hemodynamic recovery").
"""

from __future__ import annotations

from dataclasses import dataclass

from twinflow.units import to_si


@dataclass(frozen=True, slots=True)
class Drug:
    """One library entry. Doses are per administration, in kg (SI); frequency in 1/s."""

    id: str
    name: str
    drug_class: str
    mechanisms: tuple[str, ...]
    min_dose_kg: float
    max_dose_kg: float
    max_frequency_per_s: float
    sources: tuple[str, ...]


DRUGS: dict[str, Drug] = {
    d.id: d
    for d in (
        Drug(
            id="sacubitril-valsartan",
            name="sacubitril/valsartan (Entresto)",
            drug_class="angiotensin receptor-neprilysin inhibitor (ARNI)",
            mechanisms=(
                "afterload: AT1 blockade lowers systemic vascular resistance",
                "preload: neprilysin inhibition promotes natriuresis and venodilation",
                "remodelling: months of treatment regress LV mass and wall thickness",
            ),
            # PARADIGM-HF titration 24/26 mg -> 97/103 mg twice daily (McMurray 2014);
            # dose given as the combined mass per tablet.
            min_dose_kg=to_si(50, "mg"),
            max_dose_kg=to_si(200, "mg"),
            max_frequency_per_s=to_si(2, "1/day"),
            sources=("McMurray 2014 NEJM 371:993", "Romano 2019 J Clin Med 8:2165",
                     "Thürmann 1998 Circulation 98:2037"),
        ),
        Drug(
            id="valsartan",
            name="valsartan",
            drug_class="angiotensin II type-1 receptor blocker (ARB)",
            mechanisms=(
                "afterload: AT1 blockade lowers systemic vascular resistance",
                "remodelling: months of treatment regress LV mass and wall thickness",
            ),
            # Thürmann 1998: 80 mg/day, raised to 160 mg/day if needed; label max 320 mg/day.
            min_dose_kg=to_si(40, "mg"),
            max_dose_kg=to_si(320, "mg"),
            max_frequency_per_s=to_si(2, "1/day"),
            sources=("Thürmann 1998 Circulation 98:2037",),
        ),
    )
}


def get_drug(drug_id: str) -> Drug:
    """The library entry ``drug_id``; ``KeyError`` names the known entries."""
    try:
        return DRUGS[drug_id]
    except KeyError:
        raise KeyError(f"unknown drug {drug_id!r} (library: {', '.join(sorted(DRUGS))})") \
            from None
