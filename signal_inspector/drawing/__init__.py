"""Drawing the panel from stored stats: table rows (``rows``) and the flame chart (``flame``)."""
