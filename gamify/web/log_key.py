"""The key the log signs its checkpoints with (CONTRACT §12): ``GAMIFY_SIGNING_KEY`` (an Ed25519
private key as PEM text), or else one made in the instance folder on first start and kept there,
so that every worker, and every restart, signs with the same key."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
from pathlib import Path

from gamify.audit.signed_note import (
    CheckpointError,
    LogSigner,
    load_private_key,
    new_private_key_pem,
)

KEY_FILE = "gamify-signing-key.pem"


def log_signer(pem: str | None, instance: Path, host: str | None) -> LogSigner:
    """The signer named ``<host>/gamify`` (the host: ``GAMIFY_LOG_HOST``, else ``SERVER_NAME``,
    else this machine's name), with the configured key or the instance folder's."""
    try:
        key = load_private_key(pem) if pem else load_private_key(_instance_key(instance))
        return LogSigner(key, f"{host or socket.getfqdn() or 'localhost'}/gamify")
    except CheckpointError as exc:
        where = "GAMIFY_SIGNING_KEY" if pem else str(instance / KEY_FILE)
        raise RuntimeError(
            f"gamify cannot sign its log's checkpoints with {where}: {exc}"
        ) from None


def _instance_key(instance: Path) -> str:
    """The instance folder's key, made if there is none. Workers starting together race to
    make it: each writes a file of its own and links it into place, and the first link wins
    (a link never leaves a half-written key for another worker to read)."""
    path = instance / KEY_FILE
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        draft = instance / f".{KEY_FILE}.{secrets.token_hex(8)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(new_private_key_pem())
        try:
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
        finally:
            draft.unlink()
    return path.read_text(encoding="ascii")
