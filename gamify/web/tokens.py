"""Customer tokens: the storefront signs a customer id; only that customer can play with it."""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from gamify.core.errors import InvalidCustomerId, InvalidToken

SALT = "gamify.customer"
MAX_CUSTOMER_ID = 256


class CustomerTokens:
    def __init__(self, secret: str | bytes, max_age: int) -> None:
        self.serializer = URLSafeTimedSerializer(secret, salt=SALT)
        self.max_age = max_age

    def sign(self, customer_id: str) -> str:
        if not isinstance(customer_id, str) or not 1 <= len(customer_id) <= MAX_CUSTOMER_ID:
            raise InvalidCustomerId(customer_id, MAX_CUSTOMER_ID)
        return self.serializer.dumps(customer_id)

    def customer(self, token: str | None) -> str:
        """The customer id inside ``token``; :class:`InvalidToken` says why when there is none."""
        if not token:
            raise InvalidToken("send the customer token as `Authorization: Bearer <token>`")
        try:
            customer = self.serializer.loads(token, max_age=self.max_age)
        except SignatureExpired as exc:
            raise InvalidToken(
                f"the customer token expired (tokens are valid for {self.max_age} seconds); "
                "reload the page for a new one"
            ) from exc
        except BadSignature as exc:
            raise InvalidToken("the customer token is not valid for this store") from exc
        if not isinstance(customer, str) or not customer:
            raise InvalidToken("the customer token does not name a customer")
        return customer
