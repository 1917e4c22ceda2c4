"""Pure functions over a letter's text, each driven by rule files of ``patterns/``.

- ``structure``: the letter's layout (items, header block, labelled regions, guideline lines);
- ``dates``: dates as letters write them, to ISO;
- ``reasons``: the decision reasons an item's rationale gives (codes of REASONS.md).
"""
