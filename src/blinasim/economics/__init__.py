"""Health economics: costs, utilities, discounting and PSA summaries (``blinasim cea``).

The pure layer under the ``cea`` job (which simulates, loops over PSA iterations and
writes the report). The API:

- settings as data (:mod:`.setting`, :mod:`.values`):
  ``load_setting(name_or_path) -> Setting`` (shipped ``canada-2024``, ``uk-nice``, ``us``
  or a YAML file; a bad file raises :class:`~blinasim.errors.InputError`);
  ``base_values(setting) -> Values``, ``draw_values(setting, seed, iteration) -> Values``
  (one PSA iteration), ``bounds(setting)`` (the tornado's low/high per input);
- each child's lifetime events for one arm (:mod:`.history`):
  ``history_from_model(patients, adverse_events, cohort, protocol, *, seed,
  horizon_days, params=None) -> EventHistory``;
- pricing (:mod:`.evaluate`): ``evaluate(history, values, *, origin="diagnosis" |
  "randomization", discounting="continuous" | "annual", per_child=False) -> ArmTotals``
  (mean costs by category, life-years and QALYs, discounted and not, and the discounted
  vials per child); discounting in closed form (:mod:`.discount`);
- PSA summaries (:mod:`.summaries`): ``summarize(table, *, comparator, intervention,
  threshold, grid, alternatives=(), vial_price=None, population=None)`` on a tidy table
  (``iteration``, ``arm``, ``costs``, ``qalys``, ...): incremental costs and QALYs, ICER
  with dominance, NMB, CEAC, EVPI, the price threshold; ``icer``, ``quadrant``, ``ceac``,
  ``evpi``, ``price_threshold``, ``interval``;
- one-way sensitivity (:mod:`.sensitivity`): ``tornado(histories, base, *, comparator,
  intervention, ...) -> (base_nmb, rows)``.

A research model, not medical advice.
"""

from blinasim.economics.discount import Discounter
from blinasim.economics.evaluate import CATEGORIES, ORIGINS, ArmTotals, evaluate
from blinasim.economics.history import EventHistory, PhaseTable, history_from_model
from blinasim.economics.sensitivity import TornadoRow, tornado
from blinasim.economics.setting import SHIPPED, Setting, load_setting, quantities
from blinasim.economics.summaries import (
    ceac,
    evpi,
    icer,
    interval,
    price_threshold,
    quadrant,
    summarize,
)
from blinasim.economics.values import Values, base_values, bounds, draw_values

__all__ = [
    "CATEGORIES",
    "ORIGINS",
    "SHIPPED",
    "ArmTotals",
    "Discounter",
    "EventHistory",
    "PhaseTable",
    "Setting",
    "TornadoRow",
    "Values",
    "base_values",
    "bounds",
    "ceac",
    "draw_values",
    "evaluate",
    "evpi",
    "history_from_model",
    "icer",
    "interval",
    "load_setting",
    "price_threshold",
    "quadrant",
    "quantities",
    "summarize",
    "tornado",
]
