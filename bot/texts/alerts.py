"""Operator texts of the alerts area, in English (EN) and Spanish (ES); same keys in both."""

EN: dict[str, str] = {
    # notices: {where} is client/session, {detail} what the engine said, {count} occurrences
    "alerts.session_down": "{where}: WhatsApp is disconnected ({detail}).",
    "alerts.session_down.resolved": "{where}: WhatsApp is connected again.",
    "alerts.session_flapping": "{where}: WhatsApp keeps disconnecting ({detail} drops in a row).",
    "alerts.session_flapping.resolved": "{where}: WhatsApp is connected and stable again.",
    "alerts.session_logged_out": (
        "{where}: WhatsApp was logged out ({detail}). Pair it again with a new QR."
    ),
    "alerts.session_logged_out.resolved": "{where}: WhatsApp is paired and connected again.",
    "alerts.session_banned": (
        "{where}: WhatsApp blocked this number ({detail}). Its campaigns are paused."
    ),
    "alerts.session_banned.resolved": "{where}: the number is connected again.",
    "alerts.session_failed": (
        "{where}: the browser kept crashing, the session stopped ({detail}). "
        "Restart or pair it again."
    ),
    "alerts.session_failed.resolved": "{where}: WhatsApp is connected again.",
    "alerts.session_conflict": (
        "{where}: WhatsApp is open in another window, so this number does not answer "
        "here. Take it over to use it here (that window loses it), or leave it."
    ),
    "alerts.session_conflict.resolved": "{where}: WhatsApp is in use here again and connected.",
    "alerts.qr_expired": "{where}: nobody scanned the QR in time. Ask for a new one to pair.",
    "alerts.campaign_started": "{where}: campaign {detail} started.",
    "alerts.campaign_finished": "{where}: campaign {detail} finished.",
    "alerts.campaign_paused": "{where}: campaign {detail} — paused automatically.",
    "alerts.campaign_paused.resolved": "{where}: campaign {detail} resumed.",
    "alerts.campaign_unknown": (
        "{where}: campaign {detail} sends were interrupted by a restart; "
        "check whether they arrived before sending again."
    ),
    "alerts.ai_failing": "{where}: AI replies are failing ({detail}); {count} so far.",
    "alerts.ai_failing.resolved": "{where}: no more AI failures for a while.",
    "alerts.handoff": "{where}: {detail} asks to talk to a person. AI is paused in that chat.",
    "alerts.hot_lead": "{where}: hot lead {detail}",
    "alerts.campaigns_stalled": (
        "{where}: campaign sending stopped on an error and is retried ({detail}); "
        "{count} failures so far."
    ),
    "alerts.spool_failed": (
        "{where}: incoming messages cannot be written to disk ({detail}). They are still "
        "processed, but a crash now would lose them: free disk space."
    ),
    "alerts.worker_lost": (
        "{where}: a worker stopped without handing its numbers over, and another took them "
        "({detail}). Nothing is sent twice: a message cut off mid-send is marked unknown."
    ),
    "alerts.still": "Still the case since {since} ({count} times).",
    "alerts.lasted": "It lasted {duration}.",
    "alerts.minutes": "{n} min",
    "alerts.hours": "{n} h",
    "alerts.button.pair": "Pair again",
    "alerts.button.usehere": "Use it here",
    "alerts.button.forward": "Show the chat",
    # /alerts
    "alerts.help": "what is firing; mute, subscribe to or unsubscribe from a client's alerts",
    "alerts.usage": (
        "[mute <client> <minutes> | unmute <client> | subscribe <client> [kind] | "
        "unsubscribe <client> [kind]]"
    ),
    "alerts.none": "Nothing is firing for your clients.",
    "alerts.header": "Firing now ({count}):",
    "alerts.since": "since {since}, {count}×",
    "alerts.muted_line": "Muted here: {clients}.",
    "alerts.unreachable": (
        "I cannot write to you first yet: send {start} to me in a private chat to get alerts."
    ),
    "alerts.bad_sub": "Unknown option '{value}'. Usage: {usage}",
    "alerts.bad_minutes": "'{value}' is not a number of minutes: use 0 (unmute) to {max}.",
    "alerts.bad_kind": "Unknown alert kind '{value}': use one of {kinds}.",
    "alerts.muted": "Alerts of {client} are muted in this chat until {until} UTC.",
    "alerts.unmuted": "Alerts of {client} reach this chat again.",
    "alerts.subscribed": "You will receive {kind} alerts of {client}.",
    "alerts.unsubscribed": "You will no longer receive {kind} alerts of {client}.",
    "alerts.not_subscribed": "You were not subscribed to {kind} alerts of {client}.",
    "alerts.gets_all": (
        "As {role} you already receive every alert of {client}; use {mute} to quiet them."
    ),
    "alerts.every_kind": "all",
    "alerts.reachable_now": "From now on I can send you alerts in this chat.",
    # /digest and /forward
    "digest.help": "a digest of a client's conversations (default: the last 24 hours)",
    "digest.usage": "<client> [hours]",
    "digest.bad_hours": "'{value}' is not a number of hours: use 1 to {max}.",
    "digest.title": "Digest {client} — {start} → {end} ({zone})",
    "digest.figures": (
        "Conversations: {conversations} (new {new}) · unanswered {unanswered} · "
        "hot leads {hot} · asked for a person {handoff}"
    ),
    "digest.figures2": "AI replies sent: {ai} · opt-outs: {opt_outs}",
    "digest.campaigns": "Campaigns:",
    "digest.campaign_line": "• {name} ({status}): {sent} sent, {failed} failed, {replied} replies",
    "digest.conversations": "Conversations:",
    "digest.none": "No conversations in this period.",
    "digest.more": "… and {count} more.",
    "digest.tag.new": "new",
    "digest.tag.unanswered": "unanswered",
    "digest.tag.hot": "hot lead",
    "digest.tag.handoff": "wants a person",
    "digest.chart": "Messages per day: blue received, green sent.",
    "forward.help": "send a conversation to your private chat",
    "forward.usage": "<client> <phone>",
    "forward.title": "Chat with {contact} ({client}), last {count} messages:",
    "forward.summary": "Summary: {summary}",
    "forward.sent": "Sent the chat with {contact} to your private chat.",
    "forward.empty": "There are no messages with {contact} yet.",
    # why /digest or /forward comes without its AI summary
    "ai.summary_rate_limited": "No new AI summaries for {client} yet: they can be asked for once every {minutes} min, to keep the model's cost in check (chats already summarised keep theirs). Ask again from {at}.",
    "ai.summary_budget_spent": "No AI summary: {client}'s daily AI token budget is spent. It starts again at midnight ({zone}).",
}

ES: dict[str, str] = {
    "alerts.session_down": "{where}: WhatsApp está desconectado ({detail}).",
    "alerts.session_down.resolved": "{where}: WhatsApp volvió a conectarse.",
    "alerts.session_flapping": "{where}: WhatsApp se desconecta una y otra vez ({detail} caídas).",
    "alerts.session_flapping.resolved": "{where}: WhatsApp está conectado y estable otra vez.",
    "alerts.session_logged_out": (
        "{where}: se cerró la sesión de WhatsApp ({detail}). Vinculalo de nuevo con un QR."
    ),
    "alerts.session_logged_out.resolved": "{where}: WhatsApp está vinculado y conectado otra vez.",
    "alerts.session_banned": (
        "{where}: WhatsApp bloqueó este número ({detail}). Sus campañas quedaron en pausa."
    ),
    "alerts.session_banned.resolved": "{where}: el número volvió a conectarse.",
    "alerts.session_failed": (
        "{where}: el navegador se cayó varias veces y la sesión se detuvo ({detail}). "
        "Reiniciala o vinculala de nuevo."
    ),
    "alerts.session_failed.resolved": "{where}: WhatsApp volvió a conectarse.",
    "alerts.session_conflict": (
        "{where}: WhatsApp está abierto en otra ventana, así que este número no responde "
        "acá. Recuperalo para usarlo acá (esa ventana lo pierde), o dejalo así."
    ),
    "alerts.session_conflict.resolved": "{where}: WhatsApp se usa acá otra vez y está conectado.",
    "alerts.qr_expired": "{where}: nadie escaneó el QR a tiempo. Pedí uno nuevo para vincular.",
    "alerts.campaign_started": "{where}: empezó la campaña {detail}.",
    "alerts.campaign_finished": "{where}: terminó la campaña {detail}.",
    "alerts.campaign_paused": "{where}: campaña {detail} — pausada automáticamente.",
    "alerts.campaign_paused.resolved": "{where}: la campaña {detail} se reanudó.",
    "alerts.campaign_unknown": (
        "{where}: un reinicio interrumpió envíos de la campaña {detail}; "
        "revisá si llegaron antes de reenviar."
    ),
    "alerts.ai_failing": "{where}: las respuestas de IA están fallando ({detail}); van {count}.",
    "alerts.ai_failing.resolved": "{where}: hace un rato que la IA no falla.",
    "alerts.handoff": "{where}: {detail} pide hablar con una persona. La IA quedó en pausa ahí.",
    "alerts.hot_lead": "{where}: cliente caliente {detail}",
    "alerts.campaigns_stalled": (
        "{where}: el envío de campañas se detuvo por un error y se reintenta ({detail}); "
        "van {count} fallas."
    ),
    "alerts.spool_failed": (
        "{where}: los mensajes entrantes no se pueden escribir en disco ({detail}). Se siguen "
        "procesando, pero si waops se cae ahora se pierden: liberá espacio en disco."
    ),
    "alerts.worker_lost": (
        "{where}: un worker se detuvo sin entregar sus números y otro los tomó ({detail}). "
        "Nada se envía dos veces: un mensaje cortado a mitad de envío queda como desconocido."
    ),
    "alerts.still": "Sigue así desde las {since} ({count} veces).",
    "alerts.lasted": "Duró {duration}.",
    "alerts.minutes": "{n} min",
    "alerts.hours": "{n} h",
    "alerts.button.pair": "Vincular de nuevo",
    "alerts.button.usehere": "Usarlo acá",
    "alerts.button.forward": "Ver el chat",
    "alerts.help": "lo que está fallando; silenciar, suscribirse o desuscribirse de un cliente",
    "alerts.usage": (
        "[mute <cliente> <minutos> | unmute <cliente> | subscribe <cliente> [tipo] | "
        "unsubscribe <cliente> [tipo]]"
    ),
    "alerts.none": "No hay alertas activas para tus clientes.",
    "alerts.header": "Alertas activas ({count}):",
    "alerts.since": "desde {since}, {count}×",
    "alerts.muted_line": "Silenciados en este chat: {clients}.",
    "alerts.unreachable": (
        "Todavía no puedo escribirte primero: mandame {start} por privado para recibir alertas."
    ),
    "alerts.bad_sub": "Opción desconocida '{value}'. Uso: {usage}",
    "alerts.bad_minutes": "'{value}' no es una cantidad de minutos: usá de 0 (reactivar) a {max}.",
    "alerts.bad_kind": "Tipo de alerta desconocido '{value}': usá uno de {kinds}.",
    "alerts.muted": "Las alertas de {client} quedan silenciadas en este chat hasta {until} UTC.",
    "alerts.unmuted": "Las alertas de {client} vuelven a llegar a este chat.",
    "alerts.subscribed": "Vas a recibir las alertas {kind} de {client}.",
    "alerts.unsubscribed": "Ya no vas a recibir las alertas {kind} de {client}.",
    "alerts.not_subscribed": "No estabas suscripto a las alertas {kind} de {client}.",
    "alerts.gets_all": (
        "Como {role} ya recibís todas las alertas de {client}; usá {mute} para silenciarlas."
    ),
    "alerts.every_kind": "todas",
    "alerts.reachable_now": "Desde ahora puedo mandarte alertas en este chat.",
    "digest.help": "un resumen de las conversaciones de un cliente (por defecto, últimas 24 horas)",
    "digest.usage": "<cliente> [horas]",
    "digest.bad_hours": "'{value}' no es una cantidad de horas: usá de 1 a {max}.",
    "digest.title": "Resumen {client} — {start} → {end} ({zone})",
    "digest.figures": (
        "Conversaciones: {conversations} (nuevas {new}) · sin responder {unanswered} · "
        "calientes {hot} · piden una persona {handoff}"
    ),
    "digest.figures2": "Respuestas de IA enviadas: {ai} · bajas: {opt_outs}",
    "digest.campaigns": "Campañas:",
    "digest.campaign_line": (
        "• {name} ({status}): {sent} enviados, {failed} fallidos, {replied} respuestas"
    ),
    "digest.conversations": "Conversaciones:",
    "digest.none": "No hubo conversaciones en este período.",
    "digest.more": "… y {count} más.",
    "digest.tag.new": "nueva",
    "digest.tag.unanswered": "sin responder",
    "digest.tag.hot": "caliente",
    "digest.tag.handoff": "pide una persona",
    "digest.chart": "Mensajes por día: azul recibidos, verde enviados.",
    "forward.help": "mandar una conversación a tu chat privado",
    "forward.usage": "<cliente> <teléfono>",
    "forward.title": "Chat con {contact} ({client}), últimos {count} mensajes:",
    "forward.summary": "Resumen: {summary}",
    "forward.sent": "Te mandé el chat con {contact} por privado.",
    "forward.empty": "Todavía no hay mensajes con {contact}.",
    # por qué /digest o /forward llega sin su resumen de IA
    "ai.summary_rate_limited": "Todavía no hay resúmenes de IA nuevos para {client}: se pueden pedir una vez cada {minutes} min, para cuidar el costo del modelo (los chats ya resumidos conservan el suyo). Volvé a pedirlo desde las {at}.",
    "ai.summary_budget_spent": "Sin resumen de IA: se agotó el presupuesto diario de tokens de {client}. Vuelve a empezar a la medianoche ({zone}).",
}
