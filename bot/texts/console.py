"""Operator texts of the console area, in English (EN) and Spanish (ES); same keys in both."""

EN: dict[str, str] = {
    "console.image_saved": "image saved to {path}",
    "console.file_saved": "file saved to {path}",
    "console.nothing_to_confirm": "Nothing to confirm.",
}

ES: dict[str, str] = {
    "console.image_saved": "imagen guardada en {path}",
    "console.file_saved": "archivo guardado en {path}",
    "console.nothing_to_confirm": "No hay nada para confirmar.",
}
