"""What the chat channels say of themselves (Telegram, Slack, the console), in English (EN)
and Spanish (ES); same keys in both.
"""

EN: dict[str, str] = {
    "telegram.button_expired": "This button no longer works. Type the command instead.",
    "telegram.menu_group": "{subcommands}",
    "telegram.private_hint": "the bot",
    "slack.settled.done": "Confirmed by {user}.",
    "slack.settled.cancelled": "Cancelled by {user}.",
    "slack.settled.failed": "Confirmed by {user}, but it failed: see the answer below.",
    "slack.settled.expired": "This confirmation expired.",
    "slack.settled.unknown": "This confirmation is no longer valid.",
    "slack.download_failed": "Could not read the file from Slack. Send it again in a moment.",
    "slack.sent_to_dm": "📬 The rest is in your direct messages with waops.",
    "slack.private_hint": "the app (Apps > waops > Messages)",
    "console.image_saved": "image saved to {path}",
    "console.file_saved": "file saved to {path}",
    "console.nothing_to_confirm": "Nothing to confirm.",
}

ES: dict[str, str] = {
    "telegram.button_expired": "Este botón ya no funciona. Escribí el comando.",
    "telegram.menu_group": "{subcommands}",
    "telegram.private_hint": "el bot",
    "slack.settled.done": "Confirmado por {user}.",
    "slack.settled.cancelled": "Cancelado por {user}.",
    "slack.settled.failed": "Confirmado por {user}, pero falló: mirá la respuesta de abajo.",
    "slack.settled.expired": "Esta confirmación venció.",
    "slack.settled.unknown": "Esta confirmación ya no es válida.",
    "slack.download_failed": "No pude leer el archivo desde Slack. Mandalo de nuevo en un rato.",
    "slack.sent_to_dm": "📬 El resto está en tus mensajes directos con waops.",
    "slack.private_hint": "la app (Aplicaciones > waops > Mensajes)",
    "console.image_saved": "imagen guardada en {path}",
    "console.file_saved": "archivo guardado en {path}",
    "console.nothing_to_confirm": "No hay nada para confirmar.",
}
