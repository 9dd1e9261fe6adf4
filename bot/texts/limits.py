"""Operator texts of the limits on what comes with a command (its length, its file), in English
(EN) and Spanish (ES); same keys in both."""

EN: dict[str, str] = {
    "limits.too_long": "That command has {chars} characters; at most {limit} are read. Shorten it.",
    "limits.file_too_big": "The file is over {mb} MB, the most accepted here. Split it, or for a CSV use `waops prospects import` on the server.",
    "limits.file_unreadable": "Could not read the file. Send it again in a moment.",
}

ES: dict[str, str] = {
    "limits.too_long": "Ese comando tiene {chars} caracteres; se leen como mucho {limit}. Acortalo.",
    "limits.file_too_big": "El archivo pasa de {mb} MB, lo máximo que se acepta acá. Dividilo, o para un CSV usá `waops prospects import` en el servidor.",
    "limits.file_unreadable": "No pude leer el archivo. Mandalo de nuevo en un rato.",
}
