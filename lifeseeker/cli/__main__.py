"""``python -m lifeseeker.cli``: the same as the ``lifeseeker`` console script."""

from . import main

main()
