"""The audit bundle of a campaign (CONTRACT §5) as the log holds it now: streamed in short
transactions, and kept as a file so that serving it holds no database connection or
transaction while a slow client reads."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from gamify.audit.bundle import bundle_line, epoch_record, play_record
from gamify.core.canonical import canonical_json
from gamify.core.errors import NotFound
from gamify.services.ports import CampaignLog, LogSnapshot

log = logging.getLogger("gamify")
BUNDLE_CHUNK = 5000
"""Plays read per transaction while a bundle is built (about 2.5 MB of bundle)."""
BUNDLE_FORMAT = "gamify-bundle-1"
"""Part of every bundle's digest: a change to how bundles are written must change it."""
STALE_BUILD = 3600.0
"""Seconds after which a half-written bundle (its worker died) is removed from the cache."""


def bundle_etag(snap: LogSnapshot) -> str:
    """A digest of everything the bundle's bytes follow from (the head hash chains every play
    before it): equal digests, equal bundles."""
    summary = {
        "format": BUNDLE_FORMAT,
        "campaign": snap.campaign,
        "head": snap.head,
        "head_hash": snap.head_hash,
        "configs": [c.config_hash for c in snap.configs],
        "epochs": [[e.epoch, e.commitment, e.server_seed] for e in snap.epochs],
    }
    return hashlib.sha256(canonical_json(summary)).hexdigest()


@dataclass(frozen=True)
class OpenBundle:
    """A bundle written out and open for reading from its start; the reader closes it."""

    file: BinaryIO
    size: int
    etag: str


class BundleCases:
    log: CampaignLog

    def bundle_snapshot(self, campaign_id: str) -> LogSnapshot:
        return self.log.snapshot(campaign_id)

    def config_text(self, campaign_id: str, config_hash: str) -> str:
        """One config version's canonical JSON, byte for byte as its hash was taken: a browser
        checking one draw hashes this text instead of fetching the whole bundle."""
        for config in self.log.snapshot(campaign_id).configs:
            if config.config_hash == config_hash:
                return config.config
        raise NotFound(f"campaign {campaign_id!r} has no config version {config_hash!r}")

    def bundle_lines(self, campaign_id: str, snapshot: LogSnapshot | None = None) -> Iterator[str]:
        """The audit bundle, line by line: config versions, epochs, then the plays of the
        snapshot (by default, one taken now) in ``seq`` order.

        Every read is a short transaction of its own: the plays come :data:`BUNDLE_CHUNK` at a
        time by ``seq`` (keyset pagination up to the snapshot's head), and no connection is
        held between chunks, so a consumer that stops reading holds nothing in the database.
        """
        snap = snapshot or self.log.snapshot(campaign_id)
        used = self.log.configs_used(campaign_id, snap.head) if snap.head else set()
        for config in snap.configs:
            if config.config_hash in used:
                record = {
                    "type": "campaign",
                    "id": campaign_id,
                    "config_hash": config.config_hash,
                    "config": json.loads(config.config),
                }
                yield bundle_line(record)
        for e in snap.epochs:
            yield bundle_line(epoch_record(campaign_id, e.epoch, e.commitment, e.server_seed))
        start = 0
        while start < snap.head:
            rows = self.log.play_rows(campaign_id, start, snap.head, BUNDLE_CHUNK)
            if not rows:  # every play below the head was committed with it: cannot happen
                break
            for row in rows:
                yield bundle_line(play_record(row))
            start = rows[-1]["seq"] + 1

    def write_bundle(self, campaign_id: str, out: IO[str]) -> None:
        """The bundle into a text file (``gamify export``): the same lines as the API serves."""
        for line in self.bundle_lines(campaign_id):
            out.write(line)

    def open_bundle(self, campaign_id: str, cache: Path | None = None) -> OpenBundle:
        """The bundle as it is now, as a file open for reading: what the API sends.

        With a ``cache`` folder (the app's instance folder), the file is kept there under the
        snapshot's digest, so downloads of an unchanged log (an ended campaign, the usual case
        for auditors) read the file and only the snapshot from the database; a newer version
        replaces the older one, which readers that have it open keep reading. Without a cache,
        or when it cannot be written, the bundle goes to an anonymous temporary file, deleted
        when it is closed.
        """
        snap = self.log.snapshot(campaign_id)
        if cache is not None:
            try:
                return self._cached_bundle(snap, cache)
            except OSError as exc:
                log.warning("gamify: cannot keep audit bundles in %s: %s", cache, exc)
        handle = tempfile.TemporaryFile()  # noqa: SIM115 (the caller reads and closes it)
        try:
            self._write_binary(snap, handle)
            handle.seek(0)
        except BaseException:
            handle.close()
            raise
        return OpenBundle(handle, _size(handle), bundle_etag(snap))

    def _cached_bundle(self, snap: LogSnapshot, folder: Path) -> OpenBundle:
        etag = bundle_etag(snap)
        path = folder / f"{snap.campaign}.{etag}.jsonl"
        try:
            handle: BinaryIO = path.open("rb")
        except FileNotFoundError:
            folder.mkdir(parents=True, exist_ok=True)
            fd, building = tempfile.mkstemp(dir=folder, prefix=f".{snap.campaign}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as out:
                    self._write_binary(snap, out)
                    out.flush()
                    os.fsync(out.fileno())
                # Opened before it is published, so a newer build cannot prune it from under us.
                handle = open(building, "rb")  # noqa: SIM115 (the caller reads and closes it)
                os.replace(building, path)
            except BaseException:
                Path(building).unlink(missing_ok=True)
                raise
            _prune_bundles(folder, snap.campaign, keep=path)
        return OpenBundle(handle, _size(handle), etag)

    def _write_binary(self, snap: LogSnapshot, out: BinaryIO) -> None:
        for line in self.bundle_lines(snap.campaign, snap):
            out.write(line.encode())


def _size(handle: BinaryIO) -> int:
    return os.fstat(handle.fileno()).st_size


def _prune_bundles(folder: Path, campaign_id: str, keep: Path) -> None:
    """Remove the campaign's older bundles (and builds abandoned by a dead worker). A reader
    that has one open keeps reading it: the file goes when the last reader closes it."""
    now = time.time()
    for path in folder.glob(f"{campaign_id}.*.jsonl"):
        if path != keep:
            path.unlink(missing_ok=True)
    for path in folder.glob(f".{campaign_id}.*.tmp"):
        try:
            if now - path.stat().st_mtime > STALE_BUILD:
                path.unlink(missing_ok=True)
        except OSError:
            continue
