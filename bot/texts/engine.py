"""Operator texts the engine gives (its errors and the reasons an import rejects a row), in
English (EN) and Spanish (ES); same keys in both.

The engine raises them as keys with parameters (`InvalidInput("phone.not_a_phone", ...)`) and
may not import bot/, so their English lives in engine/texts.py, where it also writes its logs;
the Spanish is here, next to every other catalog.
"""

from engine.texts import EN as EN

ES: dict[str, str] = {
    # sesiones (engine/sessions.py, engine/session/backups.py)
    "runner.not_running": "la sesión {id} no está en marcha",
    "runner.no_profile": (
        "no hay perfil de navegador para {client}/{name} en {path}: ¿se inició alguna vez?"
    ),
    # números de teléfono (engine/phones.py) y donde los operadores escriben uno
    "phone.empty": "vacío",
    "phone.not_a_number": "no es un número de teléfono",
    "phone.unknown_country": "código de país desconocido",
    "phone.too_short_after_idd": "demasiado corto después del prefijo internacional",
    "phone.too_short": "demasiado corto",
    "phone.too_long": "demasiado largo",
    "phone.unknown_country_in": "código de país desconocido para la región {region} (+{code})",
    "phone.too_short_in": "demasiado corto para la región {region} (+{code})",
    "phone.too_long_in": "demasiado largo para la región {region} (+{code})",
    "phone.wrong_length_in": "largo incorrecto para la región {region} (+{code})",
    "phone.invalid_in": "no es un número válido para la región {region} (+{code})",
    "phone.not_a_phone": "{raw!r} no es un número de teléfono ({reason})",
    "phone.write_like": "{raw!r} no es un número de teléfono ({reason}): escribilo como +5491112345678",
    # conversaciones (engine/inbound/conversations.py)
    "outgoing.empty": "el mensaje está vacío: escribí el texto después del número",
    "outgoing.not_taken": "WhatsApp no aceptó el mensaje: revisá la sesión con /sessions y probá de nuevo",
    "outgoing.unconfirmed": "WhatsApp tomó el mensaje pero no lo confirmó: fijate con /conv antes de mandarlo otra vez, puede llegar dos veces",
    "outgoing.no_session": "{client} no tiene ninguna sesión de WhatsApp conectada: vinculá una con /pair {client}",
    "lid.invalid": "{raw!r} no es un LID: escribilo como lo muestra /chats, lid:<dígitos>",
    # campañas (engine/campaign/service.py, engine/campaigns.py)
    "audience.bad_field": "{raw!r}: escribí la selección por campo así: field:ciudad=Rosario",
    "audience.missing": "decí a quién le llega: todos, una etiqueta como feria, o field:ciudad=Rosario",
    "audience.nobody": "nadie coincide con {selection}: importá prospectos o elegí otra etiqueta",
    "launch.not_draft": "la campaña {id} está en estado {status}; solo se puede lanzar un borrador",
    "resume.banned": "WhatsApp bloqueó este número: sus campañas no se pueden reanudar",
    "transition.refused": "la campaña {id} está en estado {status}, no {expected}",
    # plantillas de mensaje (engine/campaign/templates.py); las llaves que escribe el operador van dobles
    "template.empty": "la plantilla del mensaje está vacía; escribí el texto a mandar",
    "template.too_long": "la plantilla del mensaje tiene {chars} caracteres y se permiten {max} como máximo: acortala (un mensaje de campaña se lee mejor en pocas líneas)",
    "template.at": "plantilla, línea {line}, columna {column}: {problem}",
    "template.stray_close": "'}}' no tiene su '{{'; escribí '}}}}' para una llave literal",
    "template.too_deep": "hay grupos anidados más de {max} niveles; poné las opciones una al lado de la otra en vez de una dentro de otra",
    "template.unclosed": "'{{' nunca se cierra; escribí '{{{{' para una llave literal",
    "template.not_field_or_choice": "{group} no es ni un campo como {{name}} ni una opción como {{Hola|Buenas}}; escribí {{{{ y }}}} para llaves literales",
    # ritmo (engine/campaign/pacing.py) y los rangos y ventanas que comparte con la configuración
    "pace.unknown_key": "clave de ritmo desconocida {key!r}; las claves son: {known}",
    "pace.bad_value": "ritmo {key}: {reason}",
    "pace.expected_range": "se esperaban segundos como MIN-MAX, por ejemplo 20-60, y llegó {raw!r}",
    "pace.expected_count": "se esperaba un número entero de envíos y llegó {raw!r}",
    "pace.cap_too_small": "un tope tiene que ser de 1 envío o más; usá none para no poner tope",
    "pace.expected_caps": "se esperaban topes diarios como [20, 40, 80, 150] y llegó {raw!r}",
    "pace.day_cap_too_small": "el tope de cada día tiene que ser 1 o más",
    "range.expected": "se esperaban segundos como MIN-MAX, por ejemplo 20-60 (o un solo número), y llegó {raw!r}",
    "range.reversed": "el máximo no puede ser menor que el mínimo en {raw!r}",
    "window.expected": "se esperaba HH:MM-HH:MM, por ejemplo 09:00-20:00, o 'always', y llegó {raw!r}",
    "window.bad_time": "{raw!r} no es un rango horario válido: las horas van de 0 a 23 y los minutos de 0 a 59",
    "window.empty": "la ventana {raw!r} está vacía; usá 'always' para no tener ventana",
    "zone.unknown": "zona horaria desconocida {name!r}; usá un nombre IANA como Europe/Madrid",
    # reglas por palabra clave para respuestas de IA (engine/ia/rules.py)
    "rules.no_arrow": "línea {line}: escribí las reglas como 'palabra clave => respuesta'",
    "rules.no_keyword": "línea {line}: falta la palabra clave antes de '=>'",
    "rules.no_answer": "línea {line}: falta la respuesta después de '=>'",
    # clientes, sesiones y operadores (engine/directory.py)
    "slug.invalid": "{what} {value!r} no es válido: usá de 1 a 40 letras minúsculas, dígitos, '-' o '_', empezando por una letra o un dígito (por ejemplo 'haby')",
    "slug.client": "el cliente",
    "slug.session": "el nombre de sesión",
    "zone.unknown_for_client": "zona horaria desconocida {name!r}: usá un nombre IANA como America/Argentina/Buenos_Aires",
    "region.unknown": "región desconocida {value!r}: usá un código de país de dos letras como AR o ES",
    "role.unknown": "rol desconocido {value!r}: elegí uno de {choices}",
    "platform_id.invalid": "el id de operador {value!r} no es válido: usá tg:<id numérico de usuario>, slack:<id de usuario> o console",
    "lang.unknown": "idioma desconocido {value!r}: usá es o en",
    # archivos de prospectos que no se pueden importar (engine/campaign/prospect_file.py, engine/campaign/prospects.py)
    "csv.mixed": 'línea {line}: el byte 0x{byte:02X} no es UTF-8 válido, aunque las líneas anteriores sí: el archivo mezcla codificaciones; guardalo de nuevo como UTF-8 ("CSV UTF-8" en Excel) e importalo otra vez (no se importó nada)',
    "csv.unknown_byte": 'línea {line}: el byte 0x{byte:02X} no es un carácter ni en UTF-8 ni en Windows-1252; guardalo de nuevo como UTF-8 ("CSV UTF-8" en Excel) e importalo otra vez (no se importó nada)',
    "csv.broken": 'línea {line}: el byte 0x{byte:02X} rompe el texto {codec} del archivo; guardalo de nuevo como UTF-8 ("CSV UTF-8" en Excel) e importalo otra vez (no se importó nada)',
    "csv.empty": "{file} está vacío: la primera línea tiene que nombrar las columnas",
    "csv.no_phone_column": "{file} no tiene columna de teléfono (busqué {wanted}; encontré {found}): renombrala o pasá --phone-column",
    "csv.usual_phone_columns": "phone, telefono, celular o whatsapp",
    "csv.unreadable": "línea {line}: {detail}; no se importó nada",
    "csv.open_quote": 'línea {line}: {what}, casi siempre una comilla (") que nunca se cierra y se traga las filas siguientes; cerrala o sacala (no se importó nada)',
    "csv.cell_lines": "una celda ocupa {lines} líneas",
    "csv.cell_chars": "una celda pasa de {limit} caracteres",
    "csv.too_many_columns": "el archivo tiene {count} columnas y se permiten {max} como máximo: sacá las que las campañas no usan (no se importó nada)",
    "csv.long_column_name": "el nombre de la columna {number} tiene {chars} caracteres, como máximo {max}: renombrala (no se importó nada)",
    "csv.no_file": "no hay ningún archivo en {path}: indicá la ruta de un archivo .csv",
    "csv.bad_tag": "la etiqueta {tag!r} tiene que tener de 1 a {max} caracteres",
    "csv.changed": "{file} cambió mientras se importaba ({detail}): se guardaron {saved} filas; importalo otra vez",
    # filas que una importación rechaza (engine/campaign/prospects.py); cada una va con su línea y valor
    "row.field_too_long": "el campo {field} tiene {chars} caracteres, como máximo {max}",
    "row.name_too_long": "el nombre tiene {chars} caracteres, como máximo {max}",
    "row.tag_too_long": "una etiqueta tiene {chars} caracteres, como máximo {max}",
    "row.duplicate": "repetida de la línea {line} ({phone})",
    # archivos (engine/campaign/service.py, engine/inbound/conversations.py)
    "attach.not_editable": "la campaña {id} está en estado {status}; solo se puede adjuntar un archivo a un borrador o a una campaña programada o pausada",
    "attach.missing": "el archivo de la campaña {id} ya no está guardado: adjuntalo otra vez con /campaign attach {id}",
    "attach.no_store": "este waops no guarda archivos (no tiene almacén de medios): desde acá no se pueden mandar archivos",
    # archivos que van a WhatsApp (engine/media.py): qué está mal y qué hacer
    "upload.kind_not_sendable": "un {kind} no se puede mandar con un texto: adjuntá una imagen (JPEG o PNG), un video (MP4) o un documento",
    "upload.empty": "el archivo está vacío (0 bytes): adjuntalo de nuevo",
    "upload.image_type": "la imagen es {mimetype}; WhatsApp manda imágenes JPEG o PNG: convertila, o enviala como documento",
    "upload.video_type": "el video es {mimetype}; WhatsApp manda videos MP4 o 3GP: convertilo, o envialo como documento",
    "upload.image_too_large": "la imagen pesa {size}; WhatsApp acepta imágenes de hasta {limit}: achicala, o enviala como documento (hasta 100 MB)",
    "upload.video_too_large": "el video pesa {size}; WhatsApp acepta videos de hasta {limit}: acortalo o bajale la calidad, o envialo como documento (hasta 100 MB)",
    "upload.document_too_large": "el documento pesa {size}; WhatsApp acepta documentos de hasta {limit}: comprimilo o dividilo en partes",
    # tamaños (engine/media.py describe_size), decimales como los límites de WhatsApp
    "size.bytes": "{n} B",
    "size.kb": "{n} KB",
    "size.mb": "{whole},{tenth} MB",
    "size.mb_whole": "{n} MB",
    "size.gb": "{whole},{tenth} GB",
    "size.gb_whole": "{n} GB",
}
