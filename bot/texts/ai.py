"""Operator texts of the ai area, in English (EN) and Spanish (ES); same keys in both."""

EN: dict[str, str] = {}

ES: dict[str, str] = {}
