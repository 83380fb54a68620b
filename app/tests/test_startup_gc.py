"""After startup the app's long-lived objects are frozen out of the garbage collector's
generations (api.py lifespan), so a full collection under load does not walk them."""

from __future__ import annotations

import gc

from conftest import AppServer


def test_startup_freezes_what_it_built(app_server: AppServer) -> None:
    assert gc.get_freeze_count() > 10_000  # the imports and the app: far more than a handful
