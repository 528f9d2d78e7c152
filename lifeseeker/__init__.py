"""lifeseeker: lifelog retrieval after LifeSeeker 6.0 (LSC'24)."""

__version__ = "0.1.0"
