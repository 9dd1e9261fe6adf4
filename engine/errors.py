"""Expected errors the engine raises to the operator side: the message says what to do."""


class InvalidInput(ValueError):
    """An argument was wrong; the message names it and how to fix it."""
