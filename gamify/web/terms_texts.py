"""The terms page's words in Spanish and English, and the ways it says dates, durations, limits
and odds in each (the page is for shoppers: words, not field names).

Placeholders are filled after escaping (the page's template escapes every value it is given),
so a text here may hold no markup.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from gamify.core.rules import Limit
from gamify.web.admin_texts import number

LANGUAGES = ("es", "en")

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "page_title": "Terms of the promotion: {title}",
        "heading": "Terms of the promotion",
        "skip": "Skip to the terms",
        "other_language": "Español",
        "intro": "These terms are made from the promotion's own settings, the same ones its "
        "draws use, so the odds and prizes below are exactly those of every play.",
        "wheel": "a spin-the-wheel game",
        "scratch": "a scratch card",
        "game_is": "The game is {game}.",
        "organiser": "Who organises it",
        "organiser_name": "Organiser",
        "organiser_address": "Address",
        "organiser_email": "Contact",
        "no_organiser": "The store has not named the organiser of this promotion yet. Ask the "
        "store who runs it, and how to reach them, before you play.",
        "dates": "When",
        "starts": "Starts",
        "ends": "Ends",
        "zone": "Times are local times of the {zone} time zone (UTC{offset} when the promotion "
        "starts); its days begin at midnight there, and its weeks on Monday.",
        "scheduled": "It has not started yet.",
        "running": "It is running now.",
        "ended": "It has ended: no more plays are possible.",
        "who": "Who may play",
        "who_customers": "Customers signed in to their account in the store.",
        "who_guests": "Anyone aged {age} or over: customers signed in to the store, and people "
        "without an account who give their email address.",
        "who_age_asked": "Before playing without an account you confirm, by ticking a box, that "
        "you are {age} or over.",
        "who_holdout": "So that the store can measure what the game changes, {percent} % of "
        "customers, chosen at random, do not see it during this promotion. Being left out says "
        "nothing about you.",
        "limits": "How many times",
        "no_limits": "The store sets no limit on the number of plays.",
        "limits_intro": "Each player may play:",
        "per_ip": "From one internet connection (IP address), plays without an account are "
        "capped at {limit}.",
        "prizes": "Prizes and odds",
        "caption": "The prizes, the chance of drawing each one in every play, their value and how "
        "many there are",
        "col_prize": "Prize",
        "col_chance": "Chance in each play",
        "col_odds": "Odds",
        "col_value": "Value",
        "col_units": "Units in the promotion",
        "col_left": "Units left now",
        "col_win": "Is it a prize?",
        "yes": "Yes",
        "no_prize": "No: no prize",
        "unlimited": "No limit",
        "no_value": "Not stated",
        "one_in": "1 in {n}",
        "win_chance": "Chance of drawing a prize in each play: {percent}.",
        "odds_fixed": "The odds are the same in every play and for every player; they come from "
        "fixed weights in the promotion's settings. Prizes running out do not change what is "
        "drawn (see the next section).",
        "counted_at": "Units left counted at {time} ({zone}).",
        "value_unit": "Values are in the store's currency.",
        "fallback": "When a prize runs out",
        "fallback_rule": "If the prize drawn has no units left, or giving it would go over the "
        "store's budget for prizes, you get “{label}” instead.",
        "fallback_stock": "If the prize drawn has no units left, you get “{label}” instead.",
        "budget_day": "The store gives away prizes worth at most {amount} a day ({zone} days).",
        "budget_total": "The store gives away prizes worth at most {amount} in the whole "
        "promotion.",
        "delivery": "How you receive your prize",
        "delivery_coupon": "Prizes with a code ({labels}): the code is shown on screen as soon as "
        "you play. Keep it: how and until when it can be used is up to the store.",
        "delivery_other": "Prizes without a code ({labels}): the store tells you how you receive "
        "them.",
        "fair": "How the draws are made and checked",
        "fair_commit": "Before anyone plays, a secret random number (the server seed) is chosen "
        "and its fingerprint (a SHA-256 commitment) is published, so it cannot be changed "
        "afterwards.",
        "fair_current": "The fingerprint of the seed in use now is:",
        "fair_draw": "Each play mixes that seed with a seed chosen by your browser and the "
        "play's number, with HMAC-SHA256; the result picks the prize with exactly the odds "
        "above. Nobody can predict a play, and the store cannot steer it.",
        "fair_reveal": "The seed is revealed when its period closes: every {every}, or when the "
        "promotion ends if that comes first. Then anyone can re-check every draw of that "
        "period.",
        "fair_record": "The public record of the seeds and their fingerprints",
        "fair_bundle": "The audit bundle: every play of the promotion, under pseudonyms",
        "fair_verify": "To check it, download the bundle and run the open-source command",
        "fair_verify_after": ", or any program that follows the published algorithm.",
        "data": "Your data",
        "data_pseudonym": "Each play is recorded in the public audit log under a pseudonym, never "
        "your name or email address.",
        "data_customers": "If you play signed in, the store's customer number links your plays "
        "to you, to apply the limits above.",
        "data_guests": "If you play without an account, your email address is kept to apply the "
        "limits above. If you agree to receive marketing, the store also records that consent: "
        "a fingerprint of the consent text you accepted, the language and the time.",
        "data_erase_to": "To see or erase your data, write to the organiser:",
        "data_erase_store": "To see or erase your data, write to the store.",
        "generated": "Generated on {time} ({zone}) from the promotion's settings.",
        "days": "{n} days",
        "day": "day",
        "hours": "{n} hours",
        "hour": "hour",
        "minutes": "{n} minutes",
        "minute": "minute",
        "weeks": "{n} weeks",
        "week": "week",
        "plays_day": "{n} plays a day",
        "plays_week": "{n} plays a week",
        "plays_campaign": "{n} plays in the whole promotion",
        "plays_day_one": "1 play a day",
        "plays_week_one": "1 play a week",
        "plays_campaign_one": "1 play in the whole promotion",
    },
    "es": {
        "page_title": "Bases de la promoción: {title}",
        "heading": "Bases de la promoción",
        "skip": "Saltar a las bases",
        "other_language": "English",
        "intro": "Estas bases se generan a partir de la configuración de la propia promoción, la "
        "misma que usan sus sorteos: las probabilidades y los premios de abajo son exactamente "
        "los de cada jugada.",
        "wheel": "una ruleta",
        "scratch": "un rasca y gana",
        "game_is": "El juego es {game}.",
        "organiser": "Quién la organiza",
        "organiser_name": "Organizador",
        "organiser_address": "Dirección",
        "organiser_email": "Contacto",
        "no_organiser": "La tienda aún no ha indicado quién organiza esta promoción. Pregunta a "
        "la tienda quién la organiza, y cómo contactar con él, antes de jugar.",
        "dates": "Cuándo",
        "starts": "Empieza",
        "ends": "Termina",
        "zone": "Las horas son locales de la zona horaria {zone} (UTC{offset} al empezar la "
        "promoción); sus días empiezan a medianoche allí, y sus semanas el lunes.",
        "scheduled": "Aún no ha empezado.",
        "running": "Está en marcha.",
        "ended": "Ha terminado: ya no se puede jugar.",
        "who": "Quién puede participar",
        "who_customers": "Los clientes que han iniciado sesión en su cuenta de la tienda.",
        "who_guests": "Cualquier persona de {age} años o más: los clientes con sesión iniciada "
        "en la tienda y quienes, sin cuenta, den su dirección de correo electrónico.",
        "who_age_asked": "Antes de jugar sin cuenta confirmas, marcando una casilla, que tienes "
        "{age} años o más.",
        "who_holdout": "Para que la tienda pueda medir lo que cambia el juego, un {percent} % de "
        "los clientes, elegidos al azar, no lo ven durante esta promoción. Quedar fuera no dice "
        "nada de ti.",
        "limits": "Cuántas veces",
        "no_limits": "La tienda no limita el número de jugadas.",
        "limits_intro": "Cada participante puede jugar:",
        "per_ip": "Desde una misma conexión a internet (dirección IP), las jugadas sin cuenta "
        "se limitan a {limit}.",
        "prizes": "Premios y probabilidades",
        "caption": "Los premios, la probabilidad de que salga cada uno en cada jugada, su valor "
        "y cuántas unidades hay",
        "col_prize": "Premio",
        "col_chance": "Probabilidad en cada jugada",
        "col_odds": "Posibilidades",
        "col_value": "Valor",
        "col_units": "Unidades en la promoción",
        "col_left": "Unidades que quedan",
        "col_win": "¿Es un premio?",
        "yes": "Sí",
        "no_prize": "No: sin premio",
        "unlimited": "Sin límite",
        "no_value": "No indicado",
        "one_in": "1 de cada {n}",
        "win_chance": "Probabilidad de que salga un premio en cada jugada: {percent}.",
        "odds_fixed": "Las probabilidades son las mismas en cada jugada y para cada participante; "
        "salen de pesos fijos de la configuración de la promoción. Que un premio se agote no "
        "cambia lo que sale en el sorteo (ver la sección siguiente).",
        "counted_at": "Unidades contadas el {time} ({zone}).",
        "value_unit": "Los valores están en la moneda de la tienda.",
        "fallback": "Si un premio se agota",
        "fallback_rule": "Si el premio que sale no tiene unidades, o darlo superaría el "
        "presupuesto de la tienda para premios, recibes «{label}» en su lugar.",
        "fallback_stock": "Si el premio que sale no tiene unidades, recibes «{label}» en su lugar.",
        "budget_day": "La tienda regala premios por un valor de {amount} como máximo al día "
        "(días de {zone}).",
        "budget_total": "La tienda regala premios por un valor de {amount} como máximo en toda la "
        "promoción.",
        "delivery": "Cómo recibes el premio",
        "delivery_coupon": "Premios con código ({labels}): el código aparece en pantalla nada "
        "más jugar. Guárdalo: cómo y hasta cuándo se puede usar lo decide la tienda.",
        "delivery_other": "Premios sin código ({labels}): la tienda te dice cómo recibirlos.",
        "fair": "Cómo se hace y se comprueba el sorteo",
        "fair_commit": "Antes de que nadie juegue se elige un número secreto al azar (la semilla "
        "del servidor) y se publica su huella (un compromiso SHA-256), de modo que después no "
        "se puede cambiar.",
        "fair_current": "La huella de la semilla en uso ahora es:",
        "fair_draw": "Cada jugada combina esa semilla con otra elegida por tu navegador y el "
        "número de la jugada, con HMAC-SHA256; el resultado elige el premio exactamente con las "
        "probabilidades de arriba. Nadie puede predecir una jugada, y la tienda no puede "
        "dirigirla.",
        "fair_reveal": "La semilla se revela cuando se cierra su periodo: cada {every}, o al "
        "terminar la promoción si es antes. Entonces cualquiera puede volver a comprobar cada "
        "sorteo de ese periodo.",
        "fair_record": "El registro público de las semillas y sus huellas",
        "fair_bundle": "El paquete de auditoría: todas las jugadas de la promoción, con seudónimos",
        "fair_verify": "Para comprobarlo, descarga el paquete y ejecuta la orden de código abierto",
        "fair_verify_after": ", o cualquier programa que siga el algoritmo publicado.",
        "data": "Tus datos",
        "data_pseudonym": "Cada jugada queda en el registro público de auditoría con un "
        "seudónimo, nunca con tu nombre ni tu correo.",
        "data_customers": "Si juegas con tu cuenta, tu número de cliente de la tienda vincula "
        "tus jugadas contigo, para aplicar los límites de arriba.",
        "data_guests": "Si juegas sin cuenta, se guarda tu dirección de correo para aplicar los "
        "límites de arriba. Si aceptas recibir comunicaciones comerciales, la tienda guarda "
        "también ese consentimiento: una huella del texto que aceptaste, el idioma y la hora.",
        "data_erase_to": "Para consultar o borrar tus datos, escribe al organizador:",
        "data_erase_store": "Para consultar o borrar tus datos, escribe a la tienda.",
        "generated": "Generadas el {time} ({zone}) a partir de la configuración de la promoción.",
        "days": "{n} días",
        "day": "día",
        "hours": "{n} horas",
        "hour": "hora",
        "minutes": "{n} minutos",
        "minute": "minuto",
        "weeks": "{n} semanas",
        "week": "semana",
        "plays_day": "{n} jugadas al día",
        "plays_week": "{n} jugadas a la semana",
        "plays_campaign": "{n} jugadas en toda la promoción",
        "plays_day_one": "1 jugada al día",
        "plays_week_one": "1 jugada a la semana",
        "plays_campaign_one": "1 jugada en toda la promoción",
    },
}

_MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "es": [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
}


def local_time(moment: datetime, zone: str, lang: str) -> str:
    """``27 November 2026, 00:00`` / ``27 de noviembre de 2026, 00:00`` in ``zone``."""
    local = moment.astimezone(ZoneInfo(zone))
    month = _MONTHS[lang][local.month - 1]
    day = (
        f"{local.day} de {month} de {local.year}"
        if lang == "es"
        else (f"{local.day} {month} {local.year}")
    )
    return f"{day}, {local:%H:%M}"


def utc_offset(moment: datetime, zone: str) -> str:
    """``+01:00``: the zone's offset at ``moment``."""
    raw = moment.astimezone(ZoneInfo(zone)).strftime("%z")
    return f"{raw[:3]}:{raw[3:]}"


def duration(every: timedelta, lang: str) -> str:
    """``week``, ``3 days``, ``12 hours`` (after "every"): the largest whole unit that says
    it exactly."""
    texts = TEXTS[lang]
    seconds = int(every.total_seconds())
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return texts[unit] if count == 1 else texts[unit + "s"].format(n=count)
    return texts["minutes"].format(n=number(seconds / 60, lang, 1))


def limit_words(limit: Limit, lang: str) -> str:
    key = f"plays_{limit.per}_one" if limit.plays == 1 else f"plays_{limit.per}"
    return TEXTS[lang][key].format(n=number(limit.plays, lang))


def amount(value: Decimal, lang: str) -> str:
    """A value as written in the file: whole numbers without decimals, else two."""
    return number(value, lang, 0 if value == value.to_integral_value() else 2)


def chance(probability: float, lang: str) -> str:
    """A percentage with enough places that a small chance does not read as 0 %."""
    places = next((p for p in range(2, 8) if round(probability * 100, p) != 0), 8)
    return number(probability * 100, lang, places) + " %"


def one_in(probability: float, lang: str) -> str:
    n = 1 / probability
    places = 0 if abs(n - round(n)) < 1e-9 else 1
    return TEXTS[lang]["one_in"].format(n=number(n, lang, places))
