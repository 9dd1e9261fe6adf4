"""Other clients' names in a model reply, matched as names rather than as words.

The output guard must catch a reply that names another client ("Haby Hogar", "haby",
"HabyHogar", "haby_hogar", "HABY-HOGAR", "Hâby") without rejecting ordinary text because some
client's slug is a common word: a client called `marketing` must not stop a reply that says
"hacemos marketing digital". So a name of one word counts only when it is distinctive (not one
of the everyday Spanish or English words below, and at least three letters); a name of several
words always counts, as those words in a row. Matching is case- and accent-insensitive and on
whole words, and a run of words written together or split by punctuation matches too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from engine.ia.text import words

# Everyday words that clients' slugs and one-word names are made of: trades, places, generic
# business terms, frequent first names, and the most frequent Spanish and English words. A
# one-word name in this list is not looked for on its own (a longer name still is).
_COMMON = """
    a al algo alla alli and ante antes aqui asi aun bien but by cada casi como con contra cual
    cuando de del desde donde dos el ella ellas ellos en entre era es esa ese eso esta este esto
    for from fue ha hay he her his hoy in is it la las le les lo los mas me mi mucho muy nada ni
    no nos nosotros not nuestra nuestro o of on or otra otro para pero poco por porque que quien
    se si sin sobre solo son su sus tal tambien tan tanto te the this to todo todos tu tus un una
    uno unos usted ustedes vos with ya yo you your
    about after all also an any are as at be been before can could day do does get go good had
    has have here how if just know like make more most new now only other our out over people
    see so some than that their them then there these they time up us use was we well what when
    where which who will work would year
    agencia agency academia alquiler alquileres almacen arte atencion autos auto bar barrio
    belleza bienes bodega cafe casa casas centro clinica club comercial comercio compra compras
    consultora consultoria contacto cosmetica cursos delivery dental deportes design digital
    diseno distribuidora eventos estudio express farmacia ferreteria fitness flores food global
    gourmet grupo group gym hogar home hostel hotel info inmobiliaria inmuebles jardin joyeria
    kiosco libreria limpieza local mail main marketing market media mercado moda motos muebles
    mundo negocio norte nutricion oeste office oficina online optica panaderia pizza pizzeria
    plus pro propiedades prueba regalos restaurant restaurante ropa salud sales seguros service
    servicios shop soporte spa store studio sucursal sur super support taller tech tecnologia
    test demo tienda turismo ventas veterinaria viajes web zapateria este capital ciudad nuevo
    nueva primero primera mejor gran grande
    ana carlos daniel david diego elena eva fernando francisco gabriel jorge jose juan julia
    laura lucas lucia luis manuel maria mario marta martin miguel pablo paula pedro sofia
    valentina john james mary michael robert william
"""
COMMON_WORDS = frozenset(_COMMON.split())
_MIN_NAME_CHARS = 3


def name_words(text: str) -> tuple[str, ...]:
    """Normalised words of a name, with `_` and `-` as separators: `Haby_Hogar` -> haby, hogar."""
    return tuple(part for word in words(text) for part in word.split("_") if part)


def is_distinctive(name: str) -> bool:
    """Whether `name` can be looked for in a reply without matching everyday text."""
    parts = name_words(name)
    if len(parts) != 1:
        return len(parts) > 1
    word = parts[0]
    return len(word) >= _MIN_NAME_CHARS and not word.isdigit() and word not in COMMON_WORDS


def name_terms(names: Iterable[str]) -> list[str]:
    """What to look for: each distinctive name with its words run together (`habyhogar`)."""
    return sorted({"".join(name_words(name)) for name in names if is_distinctive(name)})


def mentions(reply_words: Sequence[str], term: str) -> bool:
    """Whether consecutive words of the reply, run together, spell `term` exactly.

    `Haby Hogar`, `HabyHogar`, `haby.hogar` and `H A B Y hogar` all spell `habyhogar`; the run
    starts and ends on word boundaries, so `habyhogares` does not.
    """
    for start in range(len(reply_words)):
        spelled = ""
        for word in reply_words[start:]:
            spelled += word
            if not term.startswith(spelled):
                break
            if spelled == term:
                return True
    return False


def mentions_any(reply: str, names: Iterable[str]) -> bool:
    """Whether `reply` names any of `names` (display names and slugs of other clients)."""
    reply_words = [part for word in words(reply) for part in word.split("_") if part]
    return any(mentions(reply_words, term) for term in name_terms(names))
