"""The web adapter: the HTTP API of CONTRACT §6 as a Flask blueprint named ``gamify``, one
module per resource (``api_*.py``), all on :data:`blueprint`.

:class:`gamify.Gamify` registers :data:`blueprint` at ``GAMIFY_URL_PREFIX``.
"""

from gamify.web import (  # noqa: F401  (views)
    admin,
    api_assets,
    api_campaigns,
    api_challenges,
    api_events,
    api_log,
    api_loyalty,
    api_me,
    terms,
)
from gamify.web.blueprint import blueprint

__all__ = ["blueprint"]
