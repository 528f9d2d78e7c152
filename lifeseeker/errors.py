"""Expected failures, each turned into a clear CLI message and an HTTP status by the web app."""


class LifeseekerError(Exception):
    """Base class of every expected lifeseeker failure."""


class FilterError(LifeseekerError, ValueError):
    """A filter clause has a bad value; the message names the field and the value (HTTP 400)."""


class ModelUnavailable(LifeseekerError):
    """Model weights could not be loaded; the message names the model and says how to provide it."""


class StoreError(LifeseekerError):
    """The store is unreachable, corrupt, or was built with another schema (HTTP 503)."""


class NotFound(LifeseekerError, KeyError):
    """An image id or file is not in the store (HTTP 404)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def brief(exc: BaseException, limit: int = 160) -> str:
    """The first sentence of an exception's message for a user-facing notice: at most ``limit`` characters, cut
    at a word with an ellipsis, never mid-word (a hub client's message can run to pages of retries)."""
    text = (str(exc).strip().split("\n")[0] or type(exc).__name__).strip()
    first = text.split(". ")[0].rstrip(".")
    if len(first) <= limit:
        return first
    return first[:limit].rsplit(" ", 1)[0] + "\u2026"
