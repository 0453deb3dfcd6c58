"""Fixtures of the API tests (helpers in ``api_helpers``)."""

import pytest
from api_helpers import install_fake_rapi, make_world


@pytest.fixture
def api_rapi(monkeypatch):
    """The fake RAPI client every logic module talks to."""
    return install_fake_rapi(monkeypatch)


@pytest.fixture
def api_world(db, api_rapi):
    """See ``api_helpers.make_world``; ``rapi`` is the fake RAPI client."""
    world = make_world()
    world["rapi"] = api_rapi
    return world
