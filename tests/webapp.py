"""A web app over a one-collection store the test writes itself (escaping and file-serving tests)."""

from __future__ import annotations

import shutil
from datetime import datetime

import numpy as np

from lifeseeker.config import Settings
from lifeseeker.engine.store import open_store
from lifeseeker.webui import create_app

from .conftest import SAMPLES


def one_photo_app(tmp_path, models, doc: dict, **settings):
    """(app, store): a store under ``tmp_path`` with collection ``c`` rooted at ``tmp_path/root`` (holding a copy
    of a sample JPEG as ``a.jpg``) and one document: ``image_id``/``path`` ``a.jpg``, 8:00 on 2020-01-01, a
    capmeta vector of ones, updated with ``doc``; the app serves it with ``models`` and ``Settings(**settings)``."""
    store = open_store(f"lance://{tmp_path / 'store'}")
    store.ensure_schema(models.dims())
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(SAMPLES / "jpg/gps/DSCN0010.jpg", root / "a.jpg")
    store.set_collection("c", str(root))
    store.upsert([{"image_id": "a.jpg", "collection": "c", "path": "a.jpg", "local_time": datetime(2020, 1, 1, 8),
                   "capmeta_vec": np.ones(384, np.float32), **doc}])
    app = create_app(Settings(store=store.url, cache_dir=str(tmp_path / "cache"), **settings), store=store,
                     models=models)
    return app, store
