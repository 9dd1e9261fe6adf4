"""What the dispatch of any command says, in English (EN) and Spanish (ES); same keys in both:
refusals, errors, confirmations, long and private output, the limits on what comes with a
command, and the placeholders of example commands.
"""

EN: dict[str, str] = {
    # dispatcher: refusals, errors, confirmations, output
    "denied.unknown_user": "You are not allowed to use this bot. (Your id: {actor})",
    "denied.role": "You need the {role} role or higher for {command}.",
    "denied.client": "You don't have access to client '{client}'.",
    "error.usage": "Usage: {usage}",
    "error.choose_subcommand": "Use one of:\n{usages}",
    "error.unknown_command": "Unknown command {command}. Send {help} to see what you can run.",
    "error.invalid": "Could not do it: {detail}",
    "error.storage_unavailable": "The database is not answering right now. Try again in a minute.",
    "error.no_worker": "Nothing was done: {detail}",
    "error.unexpected": (
        "Something went wrong on our side (reference {ref}). The admins have the details; "
        "try again later or give them the reference."
    ),
    "confirm.button": "Confirm",
    "confirm.cancel_button": "Cancel",
    "confirm.cancelled": "Cancelled, nothing was done.",
    "confirm.unknown": "This confirmation is no longer valid. Run the command again if needed.",
    "confirm.not_yours": "Only the person who asked for this can confirm it.",
    "confirm.expired": "This confirmation expired: run {command} again.",
    "output.as_file": "The answer is long, so here it is as a file.",
    # output that goes to the operator privately
    "private.sent": "📬 I sent you the answer to {command} privately: it has contacts' data.",
    "private.unreachable": (
        "{command} answers with contacts' data, so it goes to you privately, but I can't write "
        "to you yet: open a private chat with {hint} and press Start, then run it again."
    ),
    # the limits on what comes with a command (its length, its file)
    "limits.too_long": "That command has {chars} characters; at most {limit} are read. Shorten it.",
    "limits.file_too_big": "The file is over {mb} MB, the most accepted here. Split it, or for a CSV use `waops prospects import` on the server.",
    "limits.file_unreadable": "Could not read the file. Send it again in a moment.",
    # what to type in place of an argument, in example commands
    "arg.client": "<client>",
    "arg.session": "<session>",
    "arg.audience": "<tag|all>",
    "arg.text": "<text>",
}

ES: dict[str, str] = {
    # dispatcher: rechazos, errores, confirmaciones, salida
    "denied.unknown_user": "No tenés permiso para usar este bot. (Tu id: {actor})",
    "denied.role": "Hace falta el rol {role} o superior para {command}.",
    "denied.client": "No tenés acceso al cliente '{client}'.",
    "error.usage": "Uso: {usage}",
    "error.choose_subcommand": "Opciones:\n{usages}",
    "error.unknown_command": "No existe el comando {command}. Con {help} ves lo que podés usar.",
    "error.invalid": "No se pudo: {detail}",
    "error.storage_unavailable": "La base de datos no responde ahora. Probá de nuevo en un minuto.",
    "error.no_worker": "No se hizo nada: {detail}",
    "error.unexpected": (
        "Algo falló de nuestro lado (referencia {ref}). Los administradores tienen el detalle; "
        "probá más tarde o pasales la referencia."
    ),
    "confirm.button": "Confirmar",
    "confirm.cancel_button": "Cancelar",
    "confirm.cancelled": "Cancelado, no se hizo nada.",
    "confirm.unknown": "Esta confirmación ya no es válida. Si hace falta, repetí el comando.",
    "confirm.not_yours": "Solo quien lo pidió puede confirmarlo.",
    "confirm.expired": "Esta confirmación venció: ejecutá {command} de nuevo.",
    "output.as_file": "La respuesta es larga, va como archivo.",
    # salida que va al operador en privado
    "private.sent": "📬 Te mandé la respuesta de {command} en privado: tiene datos de contactos.",
    "private.unreachable": (
        "{command} responde con datos de contactos, así que va en privado, pero todavía no "
        "puedo escribirte: abrí un chat privado con {hint}, tocá Iniciar y probá de nuevo."
    ),
    # los límites de lo que llega con un comando (su largo, su archivo)
    "limits.too_long": "Ese comando tiene {chars} caracteres; se leen como mucho {limit}. Acortalo.",
    "limits.file_too_big": "El archivo pasa de {mb} MB, lo máximo que se acepta acá. Dividilo, o para un CSV usá `waops prospects import` en el servidor.",
    "limits.file_unreadable": "No pude leer el archivo. Mandalo de nuevo en un rato.",
    # lo que se escribe en lugar de un argumento, en los comandos de ejemplo
    "arg.client": "<cliente>",
    "arg.session": "<sesión>",
    "arg.audience": "<etiqueta|all>",
    "arg.text": "<texto>",
}
