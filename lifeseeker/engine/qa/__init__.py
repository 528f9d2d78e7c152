"""Question answering over the lifelog (``service.py``; being split by responsibility)."""

from .service import *  # noqa: F401,F403
from .service import __all__  # noqa: F401
