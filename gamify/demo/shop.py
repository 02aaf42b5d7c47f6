"""What the demo store sells and says, in Spanish (the default) and English."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

LANGUAGES = ("es", "en")
DEFAULT_LANGUAGE = "es"
DEFAULT_CUSTOMER = "demo-customer"
CUSTOMERS = (DEFAULT_CUSTOMER, "ana", "luis")  # the page offers to switch between these
MAX_CUSTOMER = 64
WHEEL = "black-friday-wheel"
SCRATCH = "welcome-back-scratch"
CHALLENGE = "seasonal-challenge"
CURRENCY = "EUR"
#: Days back a demo order may be dated ("place it as if on an earlier day"): a challenge counts
#: at most one order a day, so a newcomer could not finish it today without them. The demo's
#: challenges start early enough for these (gamify.demo.dates).
BACKDATE_DAYS = tuple(range(1, 7))
RATINGS = (5, 4, 3, 2, 1)
MAX_REVIEW = 500


@dataclass(frozen=True)
class Product:
    id: str
    emoji: str
    name: dict[str, str]
    price: Decimal
    tint: str  # the background of the picture
    category: str  # as a store sends it in its order events

    def price_text(self, lang: str) -> str:
        if lang == "es":
            return f"{self.price:.2f}".replace(".", ",") + " €"
        return f"€{self.price:.2f}"


# id, picture, Spanish name, English name, price in euros, the picture's background, category
_CATALOGUE = (
    (
        "headphones",
        "🎧",
        "Auriculares inalámbricos",
        "Wireless headphones",
        "59.90",
        "#dbeafe",
        "tech",
    ),
    ("watch", "⌚", "Reloj deportivo", "Sports watch", "89.00", "#fce7f3", "tech"),
    ("backpack", "🎒", "Mochila urbana", "City backpack", "39.95", "#dcfce7", "bags"),
    ("coffee", "☕", "Cafetera de goteo", "Drip coffee maker", "45.50", "#fef3c7", "home"),
    ("plant", "🪴", "Planta de interior", "House plant", "18.90", "#ecfccb", "home"),
    ("books", "📚", "Pack de novelas", "Novel bundle", "24.00", "#ede9fe", "books"),
)
PRODUCTS = tuple(
    Product(pid, emoji, {"es": es, "en": en}, Decimal(price), tint, category)
    for pid, emoji, es, en, price, tint, category in _CATALOGUE
)
PRODUCT_BY_ID = {p.id: p for p in PRODUCTS}

TEXTS: dict[str, dict[str, str]] = {
    "es": {
        "shop": "Tienda Demo",
        "tagline": "Una tienda de ejemplo con los juegos de gamify",
        "skip": "Saltar al contenido",
        "language": "Idioma",
        "account": "Cuenta",
        "signed_in": "Sesión iniciada como",
        "switch_to": "Cambiar a",
        "customer_label": "Otro cliente (id)",
        "as_guest": "Visitar sin cuenta",
        "guest_here": "Estás de visita sin cuenta: juega a la ruleta solo con tu email.",
        "sign_in_as": "Entrar como",
        "guest_cannot": "Sin cuenta no puedes comprar ni escribir reseñas: entra como cliente.",
        "customer_submit": "Cambiar",
        "demo_dates": "Fechas de demo",
        "demo_dates_text": (
            "Las campañas de ejemplo tienen fechas fijas; esta demo las copia y mueve sus fechas "
            "para que se puedan jugar hoy:"
        ),
        "from_to": "del {starts} al {ends}",
        "products": "Productos",
        "scratch_title": "Rasca y gana",
        "scratch_intro": (
            "Tu tarjeta está aquí mismo: ráscala con el dedo o el ratón, o pulsa «Descubrir el "
            "premio»."
        ),
        "no_game": "Esta carpeta de campañas no tiene ningún juego de este tipo activo.",
        "wheel_title": "La ruleta",
        "wheel_intro": (
            "La ruleta está detrás del botón flotante de abajo a la derecha: ábrelo y gira."
        ),
        "cart": "Tu carrito",
        "cart_empty": "Aún no hay cupones. Gira la ruleta o rasca la tarjeta.",
        "coupon_applied": "Cupón aplicado a tu carrito",
        "fairness": "Juego limpio",
        "fairness_intro": (
            "Cada sorteo se puede comprobar: mira los compromisos, tus jugadas y verifica un "
            "sorteo de principio a fin."
        ),
        "footer": "Demo de gamify: nada de esta tienda está a la venta.",
        # the report (an admin page) and the demo's admin token
        "report": "Informe",
        "report_intro": (
            "El {percent} % de los clientes no ve este juego (el grupo de control): el informe "
            "compara lo que compran unos y otros."
        ),
        "admin_token": "Panel de administración de la demo ({url}): entra con el token",
        # what the shop tells every customer (the challenge's quiz asks about it)
        "facts": "La tienda",
        "fact_shipping": "Envío gratis desde 49 €.",
        "fact_returns": "Tienes 30 días para devolver un pedido.",
        "fact_logo": "Nuestro logo es una bolsa de la compra.",
        # the loyalty card
        "points_title": "Tus puntos",
        "points_intro": (
            "Cada compra suma un punto por euro, usable tras los 14 días de devolución; cada "
            "reseña, 50 al momento (una por semana). Canjéalos aquí."
        ),
        # the challenge, orders and reviews
        "challenge_title": "Tu reto",
        "challenge_intro": (
            "Compra, escribe una reseña y responde al test: tu progreso avanza aquí. Las "
            "respuestas del test están en esta página."
        ),
        "buy": "Comprar ya",
        "review": "Escribir una reseña",
        "rating": "Valoración",
        "stars": "{n} de 5 estrellas",
        "review_text": "Tu reseña (opcional)",
        "publish": "Publicar la reseña",
        "backdate_title": "Pedido con otra fecha (solo en la demo)",
        "backdate_text": (
            "El reto cuenta un pedido al día. Para completarlo hoy, haz un pedido como si fuera "
            "de otro día:"
        ),
        "product": "Producto",
        "order_date": "Fecha del pedido",
        "days_ago": "hace {n} días",
        "day_ago": "hace 1 día",
        "backdate_submit": "Hacer el pedido",
        "ordered": "Pedido hecho: {product}, {price}.",
        "reviewed": "Reseña publicada: {product}.",
        "moved": "Tu reto ha avanzado.",
        "not_moved": "Esta vez tu reto no ha avanzado: mira sus pasos.",
        "bad_form": "No hemos entendido el formulario. Vuelve a intentarlo.",
        "forbidden": "Formulario rechazado",
        "forbidden_text": "Este formulario solo se puede enviar desde las páginas de la tienda.",
        # the fairness page
        "back": "Volver a la tienda",
        "fairness_title": "Juego limpio: {title}",
        "how_title": "Cómo comprobar un sorteo",
        "how_1": (
            "Antes de cada jugada el servidor publica el compromiso: el SHA-256 de una semilla "
            "secreta."
        ),
        "how_2": (
            "Juegas. Cada jugada guarda tu semilla de cliente, un nonce y un hash que la encadena "
            "con la anterior."
        ),
        "how_3": (
            "Al cerrar la época el servidor revela la semilla y abre otra con un compromiso nuevo. "
            "En una tienda real se cierra con gamify rotate; aquí, con el botón de abajo."
        ),
        "how_4": (
            "Descarga el paquete de auditoría y compruébalo: recalcula cada sorteo, la cadena de "
            "hashes y los compromisos."
        ),
        "bundle": "Descargar el paquete de auditoría (JSON Lines)",
        "epochs": "Épocas",
        "epoch": "Época",
        "commitment": "Compromiso (SHA-256 de la semilla)",
        "seed": "Semilla del servidor",
        "opened": "Abierta (UTC)",
        "revealed": "Revelada (UTC)",
        "hidden": "secreta hasta que se cierre la época",
        "matches": "SHA-256(semilla) = compromiso ✓",
        "mismatch": "SHA-256(semilla) ≠ compromiso ✗",
        "open": "abierta",
        "your_plays": "Tus jugadas ({customer})",
        "no_plays": "Aún no has jugado en esta campaña.",
        "seq": "seq",
        "nonce": "Nonce",
        "client_seed": "Semilla de cliente",
        "drawn": "Premio sorteado",
        "awarded": "Premio entregado",
        "at": "Hora (UTC)",
        "hash": "Hash",
        "check": "Recalculado",
        "check_ok": "✓ {prize}",
        "check_bad": "✗ sale {prize}",
        "check_pending": "cuando se revele la semilla",
        "check_bundle": "con el paquete (otra versión de la campaña)",
        "rotate_title": "Revelar la semilla (solo en la demo)",
        "rotate_text": (
            "Cierra la época abierta: su semilla se revela aquí arriba y tus jugadas se pueden "
            "recalcular."
        ),
        "rotate_button": "Cerrar la época y revelar la semilla",
        "not_found": "Página no encontrada",
        "not_found_text": "No hay nada aquí, ni ninguna campaña con ese nombre.",
    },
    "en": {
        "shop": "Demo Shop",
        "tagline": "A sample store with the gamify games",
        "skip": "Skip to content",
        "language": "Language",
        "account": "Account",
        "signed_in": "Signed in as",
        "switch_to": "Switch to",
        "customer_label": "Another customer (id)",
        "as_guest": "Visit without an account",
        "guest_here": "You are visiting without an account: play the wheel with just your email.",
        "sign_in_as": "Sign in as",
        "guest_cannot": "Without an account you cannot order or review: sign in as a customer.",
        "customer_submit": "Switch",
        "demo_dates": "Demo dates",
        "demo_dates_text": (
            "The example campaigns have fixed dates; this demo copies them and moves their dates "
            "so that they can be played today:"
        ),
        "from_to": "from {starts} to {ends}",
        "products": "Products",
        "scratch_title": "Scratch and win",
        "scratch_intro": (
            "Your card is right here: scratch it with a finger or the mouse, or press “Reveal "
            "the prize”."
        ),
        "no_game": "This campaigns folder has no running game of this kind.",
        "wheel_title": "The wheel",
        "wheel_intro": (
            "The wheel is behind the floating button in the bottom right: open it and spin."
        ),
        "cart": "Your cart",
        "cart_empty": "No coupons yet. Spin the wheel or scratch the card.",
        "coupon_applied": "Coupon applied to your cart",
        "fairness": "Fair play",
        "fairness_intro": (
            "Every draw can be checked: see the commitments, your plays, and verify a draw end to "
            "end."
        ),
        "footer": "A gamify demo: nothing in this shop is for sale.",
        "report": "Report",
        "report_intro": (
            "{percent}% of the customers never see this game (the holdout group): the report "
            "compares what both groups buy."
        ),
        "admin_token": "The demo's admin pages ({url}): sign in with the token",
        "facts": "The shop",
        "fact_shipping": "Free shipping from €49.",
        "fact_returns": "You have 30 days to return an order.",
        "fact_logo": "Our logo is a shopping bag.",
        "points_title": "Your points",
        "points_intro": (
            "Each purchase earns a point per euro, usable after the 14-day return window; each "
            "review 50 at once (one a week). Redeem them here."
        ),
        "challenge_title": "Your challenge",
        "challenge_intro": (
            "Shop, write a review and take the quiz: your progress moves here. The quiz's answers "
            "are on this page."
        ),
        "buy": "Buy now",
        "review": "Write a review",
        "rating": "Rating",
        "stars": "{n} of 5 stars",
        "review_text": "Your review (optional)",
        "publish": "Publish the review",
        "backdate_title": "An order on another day (demo only)",
        "backdate_text": (
            "The challenge counts one order a day. To complete it today, place an order as if it "
            "were on another day:"
        ),
        "product": "Product",
        "order_date": "Order date",
        "days_ago": "{n} days ago",
        "day_ago": "1 day ago",
        "backdate_submit": "Place the order",
        "ordered": "Order placed: {product}, {price}.",
        "reviewed": "Review published: {product}.",
        "moved": "Your challenge progress moved.",
        "not_moved": "Your challenge did not move this time: see its steps.",
        "bad_form": "We did not understand the form. Please try again.",
        "forbidden": "Form refused",
        "forbidden_text": "This form can only be sent from the shop's own pages.",
        "back": "Back to the shop",
        "fairness_title": "Fair play: {title}",
        "how_title": "How to verify a draw",
        "how_1": (
            "Before any play the server publishes the commitment: the SHA-256 of a secret seed."
        ),
        "how_2": (
            "You play. Each play records your client seed, a nonce and a hash that chains it to "
            "the one before."
        ),
        "how_3": (
            "When the epoch closes the server reveals the seed and opens another one with a new "
            "commitment. A real store closes it with gamify rotate; here, with the button below."
        ),
        "how_4": (
            "Download the audit bundle and check it: it recomputes every draw, the hash chain and "
            "the commitments."
        ),
        "bundle": "Download the audit bundle (JSON Lines)",
        "epochs": "Epochs",
        "epoch": "Epoch",
        "commitment": "Commitment (SHA-256 of the seed)",
        "seed": "Server seed",
        "opened": "Opened (UTC)",
        "revealed": "Revealed (UTC)",
        "hidden": "secret until the epoch closes",
        "matches": "SHA-256(seed) = commitment ✓",
        "mismatch": "SHA-256(seed) ≠ commitment ✗",
        "open": "open",
        "your_plays": "Your plays ({customer})",
        "no_plays": "You have not played in this campaign yet.",
        "seq": "seq",
        "nonce": "Nonce",
        "client_seed": "Client seed",
        "drawn": "Drawn prize",
        "awarded": "Awarded prize",
        "at": "Time (UTC)",
        "hash": "Hash",
        "check": "Recomputed",
        "check_ok": "✓ {prize}",
        "check_bad": "✗ gives {prize}",
        "check_pending": "once the seed is revealed",
        "check_bundle": "with the bundle (another version of the campaign)",
        "rotate_title": "Reveal the seed (demo only)",
        "rotate_text": (
            "Close the open epoch: its seed is revealed above and your plays can be recomputed."
        ),
        "rotate_button": "Close the epoch and reveal the seed",
        "not_found": "Page not found",
        "not_found_text": "There is nothing here, and no campaign by that name.",
    },
}
