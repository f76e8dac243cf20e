"""After the first relapse: salvage, transplant, CAR-T, second relapse, lifetime.

- :mod:`.pathway`: the salvage pathway of each relapsing child (:func:`salvage`);
- :mod:`.lifetime`: death to age 100 on a national life table with late-mortality SMRs;
- :mod:`.first_line`: second malignancy in first remission and death after it;
- :mod:`.params`: the ``after_relapse`` section of ``parameters.yaml``.

A research model, not medical advice.
"""

from blinasim.model.after_relapse.first_line import (
    cure_fraction,
    death_after_smn_day,
    smn_day,
)
from blinasim.model.after_relapse.params import AfterRelapseParams
from blinasim.model.after_relapse.pathway import (
    CAUSES,
    COLUMNS,
    RISK_GROUPS,
    SITES,
    TRM,
    TRM_AFTER_RELAPSE,
    Salvage,
    salvage,
    salvage_rows,
    site_codes,
)

__all__ = [
    "CAUSES",
    "COLUMNS",
    "RISK_GROUPS",
    "SITES",
    "TRM",
    "TRM_AFTER_RELAPSE",
    "AfterRelapseParams",
    "Salvage",
    "cure_fraction",
    "death_after_smn_day",
    "salvage",
    "salvage_rows",
    "site_codes",
    "smn_day",
]
