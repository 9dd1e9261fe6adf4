"""Operator texts for output that goes to the operator privately, in English (EN) and Spanish
(ES); same keys in both."""

EN: dict[str, str] = {
    "private.sent": "📬 I sent you the answer to {command} privately: it has contacts' data.",
    "private.unreachable": (
        "{command} answers with contacts' data, so it goes to you privately, but I can't write "
        "to you yet: open a private chat with {hint} and press Start, then run it again."
    ),
}

ES: dict[str, str] = {
    "private.sent": "📬 Te mandé la respuesta de {command} en privado: tiene datos de contactos.",
    "private.unreachable": (
        "{command} responde con datos de contactos, así que va en privado, pero todavía no "
        "puedo escribirte: abrí un chat privado con {hint}, tocá Iniciar y probá de nuevo."
    ),
}
