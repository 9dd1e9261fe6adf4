"""Operator texts of the prospects area, in English (EN) and Spanish (ES); same keys in both."""

EN: dict[str, str] = {
    "prospects.help": "how many prospects a client has, by tag",
    "prospects.usage": "<client>",
    "prospects.header": "{client}: {total} contacts. By tag:",
    "prospects.no_tags": "(no tags yet)",
    "import.help": "import prospects: send a CSV file with this command as its caption",
    "import.usage": "<client> [tag]",
    "import.needs_file": "Attach the CSV file and write {command} as its caption.",
    "import.too_big": "The file is over {mb} MB; split it or use `waops prospects import` on the server.",
    "import.report": "{rows} rows: {added} added, {updated} updated, {unchanged} unchanged, {rejected} rejected ({foreign} foreign numbers accepted); {committed} saved.",
    "import.interrupted": "The database failed while saving the rows from line {line}: {committed} rows were saved before it. Send the same file again to add the rest; nothing is added twice.",
    "import.rejected_line": "line {line}: {value} — {reason}",
    "import.rejected_file": "Every rejected row, with its line and reason.",
    "import.rejected_columns": "line,value,reason",
    "import.caption_hint": "To import a CSV, send it with {command} <client> [tag] as its caption.",
}

ES: dict[str, str] = {
    "prospects.help": "cuántos prospectos tiene un cliente, por etiqueta",
    "prospects.usage": "<cliente>",
    "prospects.header": "{client}: {total} contactos. Por etiqueta:",
    "prospects.no_tags": "(todavía sin etiquetas)",
    "import.help": "importar prospectos: mandá un CSV con este comando como descripción",
    "import.usage": "<cliente> [etiqueta]",
    "import.needs_file": "Adjuntá el archivo CSV y escribí {command} como descripción.",
    "import.too_big": "El archivo pasa de {mb} MB; dividilo o usá `waops prospects import` en el servidor.",
    "import.report": "{rows} filas: {added} nuevas, {updated} actualizadas, {unchanged} sin cambios, {rejected} rechazadas ({foreign} números extranjeros aceptados); {committed} guardadas.",
    "import.interrupted": "La base de datos falló al guardar las filas desde la línea {line}: antes se guardaron {committed}. Mandá el mismo archivo otra vez para sumar el resto; nada se agrega dos veces.",
    "import.rejected_line": "línea {line}: {value} — {reason}",
    "import.rejected_file": "Todas las filas rechazadas, con su línea y motivo.",
    "import.rejected_columns": "línea,valor,motivo",
    "import.caption_hint": "Para importar un CSV, mandalo con {command} <cliente> [etiqueta] como descripción.",
}
