"""``python -m lifeseeker``: the same as the ``lifeseeker`` console script."""

from .cli import main

main()
