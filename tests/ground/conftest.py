import pytest

from ground.dictionary import Dictionary, generate
from ground.sim.sil import DEFAULT_FLIGHT_CONFIG


@pytest.fixture(scope="session")
def dictionary_doc():
    return generate(DEFAULT_FLIGHT_CONFIG)


@pytest.fixture(scope="session")
def dictionary(dictionary_doc):
    return Dictionary(dictionary_doc)
