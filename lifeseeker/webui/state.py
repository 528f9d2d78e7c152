"""What the views share: the per-app ``Services`` (settings, store, search service, thumbnail folder), built once by
``create_app`` and read by every blueprint through ``services()``. Its own module so that the blueprints need not
import the package that imports them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..engine.search import SearchService


@dataclass
class Services:
    """What the views use, built once per process."""

    settings: Settings
    store: object
    search: SearchService
    thumbs_dir: Path


def services() -> Services:
    """The Services of the current app (``current_app.extensions["lifeseeker"]``). Needs an app context."""
    from flask import current_app

    return current_app.extensions["lifeseeker"]
