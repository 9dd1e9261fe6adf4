"""Operator texts of the telegram area, in English (EN) and Spanish (ES); same keys in both."""

EN: dict[str, str] = {
    "telegram.button_expired": "This button no longer works. Type the command instead.",
    "telegram.menu_group": "{subcommands}",
    "telegram.private_hint": "the bot",
}

ES: dict[str, str] = {
    "telegram.button_expired": "Este botón ya no funciona. Escribí el comando.",
    "telegram.menu_group": "{subcommands}",
    "telegram.private_hint": "el bot",
}
