"""Operator texts of the ai area, in English (EN) and Spanish (ES); same keys in both."""

EN: dict[str, str] = {
    "ai.summary_rate_limited": "No new AI summaries for {client} yet: they can be asked for once every {minutes} min, to keep the model's cost in check (chats already summarised keep theirs). Ask again from {at}.",
    "ai.summary_budget_spent": "No AI summary: {client}'s daily AI token budget is spent. It starts again at midnight ({zone}).",
}

ES: dict[str, str] = {
    "ai.summary_rate_limited": "Todavía no hay resúmenes de IA nuevos para {client}: se pueden pedir una vez cada {minutes} min, para cuidar el costo del modelo (los chats ya resumidos conservan el suyo). Volvé a pedirlo desde las {at}.",
    "ai.summary_budget_spent": "Sin resumen de IA: se agotó el presupuesto diario de tokens de {client}. Vuelve a empezar a la medianoche ({zone}).",
}
