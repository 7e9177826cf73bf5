"""The hygiene report: the history's findings over time, as one self-contained HTML page."""
