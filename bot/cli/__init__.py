"""The `waops` command line (typer): the entry point and its sub-commands."""
