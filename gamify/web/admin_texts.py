"""The admin pages' words and number formats, in English and Spanish."""

from __future__ import annotations

from decimal import Decimal

LANGUAGES = ("en", "es")

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "admin": "gamify admin",
        "campaigns": "Campaigns",
        "no_campaigns": "No campaigns are loaded: put campaign files in GAMIFY_CAMPAIGNS.",
        "campaign": "Campaign",
        "game": "Game",
        "status": "Status",
        "running": "running",
        "scheduled": "scheduled",
        "ended": "ended",
        "wheel": "spin wheel",
        "scratch": "scratch card",
        "challenge": "challenge",
        "plays_today": "Plays today",
        "plays_total": "Plays in all",
        "stock_left": "Stock left",
        "spent_today": "Spent today",
        "spent_total": "Spent in all",
        "completed": "Completed",
        "no_cap": "no cap",
        "of": "of",
        "schedule": "Schedule",
        "holdout": "Holdout",
        "none": "none",
        "sign_in": "Sign in",
        "sign_in_intro": "Enter the admin token (GAMIFY_ADMIN_TOKEN) to see the campaigns.",
        "token": "Admin token",
        "wrong_token": "That token is not the admin token.",
        "too_many": "Too many wrong tokens from your address: try again in {seconds} seconds.",
        "expired_form": "The form had expired: please send it again.",
        "sign_out": "Sign out",
        "closed": "The admin pages are closed: set GAMIFY_ADMIN_TOKEN to open them.",
        "not_found": "There is no campaign {name}.",
        "unavailable": "The database is not available right now: try again in a moment.",
        "back": "All campaigns",
        "language": "Language",
        "odds": "Odds: configured and drawn",
        "odds_intro": "Each play draws a prize with the configured odds; a prize out of stock "
        "or over budget then gives the fallback. This table compares the draws with the odds.",
        "prize": "Prize",
        "configured": "Configured",
        "drawn": "Drawn",
        "expected": "Expected",
        "awarded": "Awarded",
        "no_plays": "No plays yet.",
        "fit": "Chi-square test of the draws against the odds: χ² = {statistic} with {dof} "
        "degrees of freedom over {sample} plays, p = {p}.",
        "fit_ok": "Nothing unusual: draws like these are common with these odds.",
        "fit_low": "Unusual: draws this far from the odds happen by chance less than once in "
        "a hundred campaigns. Check the bundle with `gamify verify`.",
        "fit_none": "Not enough plays to test the draws yet.",
        "fit_rough": "Some prizes expect fewer than 5 draws so far: the p-value is rough.",
        "fit_versions": "The plays were drawn under {n} different sets of odds; each set is "
        "tested against its own odds.",
        "old_prize": "(no longer in the campaign)",
        "plays_per_day": "Plays per day",
        "plays_per_day_desc": "Plays on each day from {first} to {last}, {total} in all; the "
        "busiest day was {busiest} with {most}.",
        "awards": "Prizes awarded",
        "awards_desc": "How many times each prize was awarded: {list}.",
        "day": "Day",
        "plays": "Plays",
        "report": "Report: did the campaign bring customers back?",
        "window": "Window",
        "from": "From",
        "to": "To",
        "show": "Show",
        "compared_with": "compared with {first} to {last}",
        "group": "Group",
        "treatment": "treatment",
        "holdout_group": "holdout",
        "customers": "Customers assigned",
        "retention": "Retention (E − N) / S",
        "repeat_rate": "Repeat rate",
        "frequency": "Orders per ordering customer",
        "aov": "Average order value",
        "revenue_per_customer": "Revenue per customer",
        "prizes": "Prizes awarded",
        "prize_value": "Value of prizes",
        "coupons_redeemed": "Coupons redeemed",
        "redemption_rate": "Redemption rate",
        "uplift": "Uplift of treatment over holdout, 95 % interval",
        "uplift_retention": "Retention (points)",
        "uplift_revenue": "Revenue per customer",
        "uplift_desc": "{label}: {diff}, 95 % interval {low} to {high}. {verdict}",
        "clear": "A clear difference.",
        "unclear": "No clear difference: the interval holds 0.",
        "no_holdout": "This campaign has no holdout group: the figures are its customers' "
        "alone. To show what it changed, give the next campaign a holdout (holdout: 10).",
        "download_csv": "Download the report (CSV)",
        "funnel": "How far customers got",
        "funnel_desc": "Customer windows at each stage: {list}.",
        "took_part": "Took part",
        "step_done": "Step: {label}",
        "rewarded": "Rewarded",
        "stage": "Stage",
        "windows": "Customers (windows)",
        "bad_date": "Dates are written YYYY-MM-DD.",
        "report_reversed": "The window starts on {first}, after it ends on {last}.",
        "report_future": "The window starts on {first}, in the future: nothing to report yet.",
        "report_no_customers": "The campaign has seen no customers yet: they are counted when "
        "they play or take part, and with a holdout also when the game is shown to them or "
        "one of their store events falls in its schedule.",
        "report_no_orders": "No orders of the campaign's customers from {first} to {last}: "
        "send the store's order events (POST /api/events) to measure what the campaign "
        "changed.",
    },
    "es": {
        "admin": "Administración de gamify",
        "campaigns": "Campañas",
        "no_campaigns": "No hay campañas cargadas: pon los archivos en GAMIFY_CAMPAIGNS.",
        "campaign": "Campaña",
        "game": "Juego",
        "status": "Estado",
        "running": "en curso",
        "scheduled": "programada",
        "ended": "terminada",
        "wheel": "ruleta",
        "scratch": "rasca y gana",
        "challenge": "reto",
        "plays_today": "Jugadas hoy",
        "plays_total": "Jugadas en total",
        "stock_left": "Existencias",
        "spent_today": "Gastado hoy",
        "spent_total": "Gastado en total",
        "completed": "Completados",
        "no_cap": "sin límite",
        "of": "de",
        "schedule": "Calendario",
        "holdout": "Grupo de control",
        "none": "ninguno",
        "sign_in": "Entrar",
        "sign_in_intro": "Escribe el token de administración (GAMIFY_ADMIN_TOKEN) para ver "
        "las campañas.",
        "token": "Token de administración",
        "wrong_token": "Ese no es el token de administración.",
        "too_many": "Demasiados tokens erróneos desde tu dirección: vuelve a probar dentro de "
        "{seconds} segundos.",
        "expired_form": "El formulario había caducado: envíalo otra vez.",
        "sign_out": "Salir",
        "closed": "Las páginas de administración están cerradas: define GAMIFY_ADMIN_TOKEN "
        "para abrirlas.",
        "not_found": "No hay ninguna campaña {name}.",
        "unavailable": "La base de datos no está disponible ahora: prueba dentro de un momento.",
        "back": "Todas las campañas",
        "language": "Idioma",
        "odds": "Probabilidades: configuradas y sorteadas",
        "odds_intro": "Cada jugada sortea un premio con las probabilidades configuradas; si "
        "ese premio está agotado o supera el presupuesto, se da el premio de reserva. La tabla "
        "compara los sorteos con las probabilidades.",
        "prize": "Premio",
        "configured": "Configurada",
        "drawn": "Sorteados",
        "expected": "Esperados",
        "awarded": "Entregados",
        "no_plays": "Todavía no hay jugadas.",
        "fit": "Prueba chi-cuadrado de los sorteos frente a las probabilidades: χ² = "
        "{statistic} con {dof} grados de libertad sobre {sample} jugadas, p = {p}.",
        "fit_ok": "Nada extraño: sorteos así son habituales con estas probabilidades.",
        "fit_low": "Extraño: sorteos tan alejados de las probabilidades salen por azar en "
        "menos de una campaña de cada cien. Comprueba el paquete con `gamify verify`.",
        "fit_none": "Aún no hay jugadas suficientes para probar los sorteos.",
        "fit_rough": "Algunos premios esperan menos de 5 sorteos por ahora: el valor p es "
        "aproximado.",
        "fit_versions": "Las jugadas se sortearon con {n} juegos de probabilidades distintos; "
        "cada uno se prueba frente a sus propias probabilidades.",
        "old_prize": "(ya no está en la campaña)",
        "plays_per_day": "Jugadas por día",
        "plays_per_day_desc": "Jugadas de cada día del {first} al {last}, {total} en total; el "
        "día con más fue el {busiest}, con {most}.",
        "awards": "Premios entregados",
        "awards_desc": "Veces que se entregó cada premio: {list}.",
        "day": "Día",
        "plays": "Jugadas",
        "report": "Informe: ¿hizo volver a los clientes la campaña?",
        "window": "Periodo",
        "from": "Desde",
        "to": "Hasta",
        "show": "Ver",
        "compared_with": "comparado con el {first} al {last}",
        "group": "Grupo",
        "treatment": "tratamiento",
        "holdout_group": "control",
        "customers": "Clientes asignados",
        "retention": "Retención (E − N) / S",
        "repeat_rate": "Tasa de repetición",
        "frequency": "Pedidos por cliente que compra",
        "aov": "Pedido medio",
        "revenue_per_customer": "Ingresos por cliente",
        "prizes": "Premios entregados",
        "prize_value": "Valor de los premios",
        "coupons_redeemed": "Cupones canjeados",
        "redemption_rate": "Tasa de canje",
        "uplift": "Mejora del tratamiento sobre el control, intervalo del 95 %",
        "uplift_retention": "Retención (puntos)",
        "uplift_revenue": "Ingresos por cliente",
        "uplift_desc": "{label}: {diff}, intervalo del 95 % de {low} a {high}. {verdict}",
        "clear": "Una diferencia clara.",
        "unclear": "Sin diferencia clara: el intervalo incluye el 0.",
        "no_holdout": "Esta campaña no tiene grupo de control: las cifras son solo de sus "
        "clientes. Para ver qué cambió, da un grupo de control a la próxima (holdout: 10).",
        "download_csv": "Descargar el informe (CSV)",
        "funnel": "Hasta dónde llegaron los clientes",
        "funnel_desc": "Clientes (por periodo) en cada etapa: {list}.",
        "took_part": "Participaron",
        "step_done": "Paso: {label}",
        "rewarded": "Premiados",
        "stage": "Etapa",
        "windows": "Clientes (por periodo)",
        "bad_date": "Las fechas se escriben AAAA-MM-DD.",
        "report_reversed": "El periodo empieza el {first}, después de terminar el {last}.",
        "report_future": "El periodo empieza el {first}, en el futuro: aún no hay nada que contar.",
        "report_no_customers": "La campaña aún no ha visto a ningún cliente: se cuentan al "
        "jugar o participar y, con grupo de control, también cuando se les muestra el juego o "
        "uno de sus eventos de la tienda cae en su calendario.",
        "report_no_orders": "No hay pedidos de los clientes de la campaña del {first} al "
        "{last}: envía los eventos de pedidos de la tienda (POST /api/events) para medir qué "
        "cambió la campaña.",
    },
}


def number(value: float | Decimal | int, lang: str, places: int = 0) -> str:
    shown = f"{value:,.{places}f}"
    if lang == "es":  # 1.234,5
        shown = shown.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return shown


def percent(value: float | None, lang: str, places: int = 1) -> str:
    return "–" if value is None else number(value * 100, lang, places) + " %"
