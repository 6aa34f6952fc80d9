"""Branch terms (换届): when the committee was elected, and for how long.

Recorded with `zhibu terms set --org DEMO-B1 --started 2024-01-31 [--category village]
[--years 5]`, shown with `zhibu terms show --org DEMO-B1`. Without --years the term is 3 years,
5 for village and community branches (ZHIBU_TERM_YEARS, ZHIBU_TERM_YEARS_VILLAGE_COMMUNITY).
The planner warns 6 and 2 months before the term ends.
"""

from __future__ import annotations

from bot.config import Settings
from bot.enums import BranchCategory
from storage.models_reminders import BranchTerm


def term_years(term: BranchTerm, settings: Settings) -> int:
    """The term's length: its own, or the default for its category."""
    if term.term_years:
        return term.term_years
    if term.category in (BranchCategory.VILLAGE, BranchCategory.COMMUNITY):
        return settings.term_years_village_community
    return settings.term_years
