"""Operator texts storage gives (records that do not exist or exist already), in English (EN)
and Spanish (ES); same keys in both. Their English lives in storage/texts.py, where storage
also writes its logs; the Spanish is here, next to every other catalog.
"""

from storage.texts import EN as EN

ES: dict[str, str] = {
    "record.no_client": "no existe el cliente {slug!r}",
    "record.no_clients": "no existe el cliente {slugs}",
    "record.no_client_id": "no existe el cliente con id {id}",
    "record.client_exists": "ya existe un cliente con el nombre corto {slug!r}",
    "record.no_session": "el cliente {client!r} no tiene una sesión llamada {name!r}",
    "record.no_session_id": "no existe la sesión con id {id}",
    "record.session_exists": "el cliente ya tiene una sesión llamada {name!r}",
    "record.no_contact": "no existe el contacto {who}",
    "record.no_contact_phone": "no hay ningún contacto con el teléfono +{phone}",
    "record.no_contact_id": "no existe el contacto con id {id}",
    "record.contact_unreadable": "no se pudo crear ni leer el contacto {who}",
    "record.no_campaign": "no existe la campaña {id}",
    "record.no_worker_command": "no existe el comando para workers {id} (los respondidos se guardan un día)",
    "record.campaign_not_in": "la campaña {id} está en {status}, no en {expected}",
    "record.no_operator": "no existe el operador {id!r}",
    "record.operator_exists": "el operador {id!r} ya existe",
    "record.last_owner": "{id} es el último dueño: nombrá a otro dueño antes",
}
