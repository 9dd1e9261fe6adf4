"""Operator texts of help and identity (/help, /whoami, /start, /language), in English (EN)
and Spanish (ES); same keys in both.
"""

EN: dict[str, str] = {
    # an operator's clients when they are all or none (/whoami, /operators)
    "scope.all_clients": "all clients",
    "scope.no_clients": "no clients",
    "help.help": "what you can run here",
    "help.usage": "[command]",
    "help.header": "Commands you can run:",
    "help.no_such": "No command {command} that you can run. Send {help} to see the list.",
    "help.confirm_mark": "(asks for confirmation)",
    "whoami.help": "your id, role and clients",
    "whoami.usage": "",
    "whoami.body": "You are {actor}\nRole: {role}\nClients: {clients}\nLanguage: {language}",
    "start.help": "greeting; this chat will receive alerts",
    "start.usage": "",
    "start.greeting": "Hello {name}, waops is ready. Send {help} to see what you can do.",
    "language.help": "show or change your language",
    "language.usage": "[es|en]",
    "language.current": "Your language is {language}. Available: {choices}.",
    "language.unknown": "Unknown language '{value}': choose one of {choices}.",
    "language.set": "Done, I will answer you in English ({language}).",
}

ES: dict[str, str] = {
    # los clientes de un operador cuando son todos o ninguno (/whoami, /operators)
    "scope.all_clients": "todos los clientes",
    "scope.no_clients": "ningún cliente",
    "help.help": "lo que podés usar acá",
    "help.usage": "[comando]",
    "help.header": "Comandos que podés usar:",
    "help.no_such": "No hay un comando {command} que puedas usar. Con {help} ves la lista.",
    "help.confirm_mark": "(pide confirmación)",
    "whoami.help": "tu id, rol y clientes",
    "whoami.usage": "",
    "whoami.body": "Sos {actor}\nRol: {role}\nClientes: {clients}\nIdioma: {language}",
    "start.help": "saludo; este chat recibirá las alertas",
    "start.usage": "",
    "start.greeting": "Hola {name}, waops está listo. Con {help} ves lo que podés hacer.",
    "language.help": "ver o cambiar tu idioma",
    "language.usage": "[es|en]",
    "language.current": "Tu idioma es {language}. Disponibles: {choices}.",
    "language.unknown": "Idioma desconocido '{value}': elegí uno de {choices}.",
    "language.set": "Listo, te respondo en español ({language}).",
}
