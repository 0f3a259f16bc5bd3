"""The terminal UI (DESIGN.md §8): the only package that imports Textual."""
