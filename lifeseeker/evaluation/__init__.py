"""Offline evaluation: LSC topic files, retrieval metrics per hint level, QA answer scoring, TREC run export."""
