"""What the fault driver does with each matter of the shipped catalog (catalog/data/catalog.json)."""

from __future__ import annotations

# Which matters may be handled how (catalog/data/catalog.json); a refusal falls back to approve.
INSTANT = {
    "enterprise-registration",
    "project-filing",
    "eia-registration",
    "fire-acceptance-filing",
    "environmental-self-acceptance",
}
# Tolerance (容缺) under modes rule 2: never public-safety or environmental matters (EIA, fire), and
# only a secondary material owed (the one named here).
TOLERANCE = {
    "land-pre-review": "land survey report",
    "land-use-planning-permit": "red-line map",
    "building-planning-permit": "traffic impact statement",
    "construction-drawing-review": "design calculation sheets",
    "construction-permit": "funds commitment letter",
}
COMMITMENT = {
    "energy-review",
    "soil-water-conservation",
    "lightning-design-review",
    "air-defence-review",
    "construction-permit",
}
CORRECTABLE = [
    "eia",
    "land-use-planning-permit",
    "building-planning-permit",
    "fire-design-review",
    "fire-acceptance",
    "construction-permit",
]
REJECTABLE = ["land-use-planning-permit", "building-planning-permit", "fire-design-review", "eia", "fire-acceptance"]
CLOCK_STOPS = ["expert_review", "hearing", "testing", "public_notice"]
# Forward steps of a typical project (per stage: applications, acceptances, decisions; corrections,
# progress, verification).
EXPECTED_STEPS = 24
