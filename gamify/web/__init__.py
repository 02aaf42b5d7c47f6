"""The web adapter: the HTTP API of CONTRACT §6 as a Flask blueprint named ``gamify``.

:class:`gamify.Gamify` registers :data:`blueprint` at ``GAMIFY_URL_PREFIX``.
"""

from gamify.web.api import blueprint

__all__ = ["blueprint"]
