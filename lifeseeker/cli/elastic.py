"""``lifeseeker es ...``: Elasticsearch-only chores (Kibana saved objects, index version swap).

Registered in the main CLI by ``cli/__init__.py``. Connection settings come from ``Settings.from_env()``
(``LIFESEEKER_ES_URL`` / ``LIFESEEKER_STORE``, ``LIFESEEKER_ES_USER`` ...), never from code.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import click

from ..config import Settings
from ..errors import LifeseekerError
from .options import echo



def default_saved_objects() -> Path:
    """The saved objects shipped as package data (``lifeseeker/kibana/saved_objects.ndjson``), found through
    ``importlib.resources`` so a non-editable install (the Docker image) has them too."""
    return Path(str(resources.files("lifeseeker") / "kibana" / "saved_objects.ndjson"))


def _elastic_store(settings: Settings):
    from ..engine.store.elastic import ElasticStore

    if not settings.store.startswith(("http://", "https://")):
        raise click.UsageError(f"store {settings.store!r} is not Elasticsearch: set LIFESEEKER_ES_URL")
    return ElasticStore(settings.store, **settings.es_options())


@click.group("es")
def es() -> None:
    """Elasticsearch and Kibana chores."""


@es.command("import-kibana")
@click.option("--kibana", "kibana_url", required=True, help="Kibana base URL, e.g. http://localhost:5601")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="saved objects NDJSON (default: the one shipped in the package, lifeseeker/kibana/)")
def import_kibana(kibana_url: str, path: Path | None) -> None:
    """Import the data view (alias, time field local_time) and the dashboard into Kibana (overwrite)."""
    from ..engine.store.kibana import import_saved_objects

    path = path or default_saved_objects()
    if not path.is_file():
        raise click.ClickException(f"{path} not found: pass --file path/to/saved_objects.ndjson")

    s = Settings.from_env()
    auth = s.es_api_key or ((s.es_user, s.es_password or "") if s.es_user else None)
    try:
        answer = import_saved_objects(kibana_url, path, auth)
    except LifeseekerError as exc:
        raise click.ClickException(str(exc)) from exc
    echo(f"imported {answer.get('successCount', 0)} saved objects into {kibana_url}")


@es.command("reindex-swap")
@click.option("--copy/--no-copy", default=True, show_default=True,
              help="copy the documents into the new version with _reindex (--no-copy: ingest into it yourself)")
def reindex_swap(copy: bool) -> None:
    """Create the next index version (<index>-v<N+1>) and move the alias to it atomically."""
    s = Settings.from_env()
    store = _elastic_store(s)
    try:
        new = store.new_version(copy=copy)
        old = store.swap_alias(new)
    except LifeseekerError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    echo(f"alias {s.index} -> {new} (was {', '.join(old) or 'none'}; old versions kept, delete when done)")


commands = [es]
