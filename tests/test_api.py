import importlib

import blinasim


def test_every_public_name_resolves():
    for name in blinasim.__all__:
        assert getattr(blinasim, name) is not None, name


def test_lazy_names_are_the_real_objects():
    from blinasim.stats import kaplan_meier

    assert blinasim.kaplan_meier is kaplan_meier


def test_unknown_attribute():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = blinasim.nope  # type: ignore[attr-defined]


def test_lazy_table_points_at_existing_modules():
    for name, module in blinasim._LAZY.items():
        assert hasattr(importlib.import_module(module), name)
        assert name in blinasim.__all__
