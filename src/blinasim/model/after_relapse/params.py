"""The ``after_relapse`` section of ``parameters.yaml`` (sources are in the file)."""

from __future__ import annotations

from dataclasses import dataclass

from blinasim.config import ParameterSet


@dataclass(frozen=True)
class AfterRelapseParams:
    """Salvage pathway, second malignancy and lifetime parameters (flat section)."""

    # timing cells of survival after relapse (Rheingold 2024)
    early_cutoff_months: float
    late_cutoff_months: float
    # COG first-relapse risk groups (AALL1331)
    risk_marrow_early_months: float
    risk_extramedullary_early_months: float
    risk_mrd_threshold: float
    # reinduction (UKALL R3 block 1)
    reinduction_days: float
    reinduction_death_prob: float
    refractory_mrd: float
    # the relapsing clone in salvage (blinasim.model.after_relapse.kinetics)
    salvage_log10_cells_marrow: float
    extramedullary_log10_kill: float
    salvage_sensitivity_factor: float
    salvage_sensitivity_sd_log: float
    doxorubicin_per_mg_mitoxantrone: float
    doxorubicin_per_mg_idarubicin: float
    cyclophosphamide_per_mg_ifosfamide: float
    continuation_days: float
    # consolidation
    consolidation_days: float
    blinatumomab_consolidation_share: float
    chemo_consolidation_death_prob: float
    blinatumomab_consolidation_death_prob: float
    # allogeneic HSCT
    hsct_probability: float
    hsct_delay_days: float
    hsct_log10_kill: float
    hsct_trm_prob: float
    hsct_trm_median_days: float
    # CAR-T (tisagenlecleucel) and later salvage
    cart_access_prob: float
    cart_max_age_years: float
    cart_vein_to_vein_days: float
    cart_not_infused_prob: float
    cart_event_free_prob: float
    cart_blinatumomab_nonresponse_hr: float
    third_line_cure_prob: float
    death_after_failure_median_days: float
    # second malignancy in first remission
    median_survival_uncured_days: float
    smn_cumulative_incidence_10y: float
    smn_os5: float
    # lifetime: national life table with late-mortality SMRs of survivors
    survivor_start_years: float
    smr_first_line: float
    smr_after_relapse: float
    smr_after_hsct: float
    lifetime_max_age_years: float

    @classmethod
    def load(cls, params: ParameterSet | None = None) -> AfterRelapseParams:
        """Read the ``after_relapse`` section (default: the shipped parameter file)."""
        return ParameterSet.given(params).section("after_relapse", cls)
