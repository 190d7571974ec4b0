"""The Footnotes desktop window and command line."""
