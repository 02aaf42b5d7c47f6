"""What gamify tells the host app, the Flask way (CONTRACT §8): blinker signals sent with the
app as sender and keyword data, so a store can react in its own systems (add a won coupon to
the cart, send an e-mail) without gamify knowing them.

    from gamify.signals import play_made

    @play_made.connect_via(app)
    def on_play(sender, campaign, customer, play, **extra):
        if play["coupon"]:
            cart_for(customer).add_coupon(play["coupon"])

Receivers run in the request that made the play, after it is stored: a receiver that raises
does not undo the play (its answer is then an error, and a retry with the same
Idempotency-Key returns the stored play without sending the signal again). The same holds for
a challenge's signals: they follow the commit of the event or quiz answer that completed it, and
a replayed event (a ``duplicate``) sends nothing. So do the loyalty signals: they follow the
commit of what changed the points (an event, a redemption, a read that settled what time did).

    from gamify.signals import reward_granted

    @reward_granted.connect_via(app)
    def on_reward(sender, challenge, customer, reward, **extra):
        if reward["coupon"]:
            cart_for(customer).add_coupon(reward["coupon"])
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

play_made = _signals.signal(
    "gamify.play-made",
    doc="A new play was stored (never sent for the replay of an Idempotency-Key). Keyword "
    "data: ``campaign`` (its id), ``customer`` (the store's customer id), ``play`` (the play "
    "as the API answers it: seq, prize, coupon, hash…).",
)

challenge_completed = _signals.signal(
    "gamify.challenge-completed",
    doc="A customer completed a challenge's window. Keyword data: ``challenge`` (its id), "
    "``customer``, ``window`` (the window's key: ``all``, ``W2026-11-30``, ``M2026-12``), "
    "``rewarded`` (False when ``winners_max`` rewards were given already).",
)

reward_granted = _signals.signal(
    "gamify.reward-granted",
    doc="A challenge's reward was granted (right after ``challenge_completed``), or a loyalty "
    "level's. Keyword data: ``challenge`` (None for a level), ``level`` (a level's id; absent "
    "for a challenge), ``customer``, ``window`` (None for a level), ``reward`` (``label``, "
    "``coupon``, ``points``, ``plays``, ``value``, as the events API answers it; a level's: "
    "``level``, ``label``, ``coupon``, ``plays``).",
)

points_changed = _signals.signal(
    "gamify.points-changed",
    doc="A customer's points changed (earned, usable after the return window, spent, expired, "
    "refunded, adjusted). Keyword data: ``customer``, ``available`` and ``pending`` (after the "
    "change), ``entries`` (each ``kind``, ``points``, ``source``, ``note``).",
)

tier_changed = _signals.signal(
    "gamify.tier-changed",
    doc="A customer's loyalty tier changed (up when points earned cross a level, down when the "
    "window lets go of them). Keyword data: ``customer``, ``old`` and ``new`` (level ids; "
    "``old`` is None the first time).",
)

lead_captured = _signals.signal(
    "gamify.lead-captured",
    doc="A guest gave marketing consent, recorded for the first time for this campaign and "
    "text (CONTRACT §13), right after their play. Keyword data: ``campaign``, ``email`` (as "
    "they wrote it), ``lang`` (of the consent text shown), ``text_hash`` (its SHA-256), "
    "``at`` (datetime, UTC).",
)

__all__ = [
    "challenge_completed",
    "lead_captured",
    "play_made",
    "points_changed",
    "reward_granted",
    "tier_changed",
]
