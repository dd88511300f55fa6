"""Evaluate a checkpoint: `eval` (paired held-out figures), `quality` (no-reference measures of
real inputs, noref.py, and side-by-side sheets, sheets.py)."""
