import copy

import pytest
import yaml

from blinasim.protocol.loader import shipped_protocols


@pytest.fixture(scope="session")
def shipped_doc_cache():
    return yaml.safe_load(shipped_protocols()["aall1731"].read_text())


@pytest.fixture
def doc(shipped_doc_cache):
    """A fresh, mutable copy of the shipped aall1731 document (anchors resolved)."""
    return copy.deepcopy(shipped_doc_cache)
