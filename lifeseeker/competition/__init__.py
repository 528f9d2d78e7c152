"""Competition: taking part in a Lifelog Search Challenge session (DRES v2 submission and logging)."""
