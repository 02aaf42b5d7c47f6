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
Idempotency-Key returns the stored play without sending the signal again). The signals of the
next capabilities (``challenge_completed``, ``reward_granted``, ``tier_changed``,
``points_changed``) join this module with them.
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

__all__ = ["play_made"]
