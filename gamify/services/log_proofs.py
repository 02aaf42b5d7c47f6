"""The Merkle log read back (CONTRACT §12): roots, inclusion and consistency proofs.

Each play stores the complete subtrees it finishes, and the campaign's row keeps the tree's
frontier, so any root or proof is a fold of O(log n) stored hashes fetched in one query: the
same cost at ten million plays as at a thousand. Stored nodes never change, and the tree only
grows, so a proof against a size already reached stays valid whatever plays come after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from gamify.core import merkle
from gamify.core.checkpoint import Checkpoint
from gamify.core.errors import InvalidRequest
from gamify.services.ports import CampaignLog, Signer, StoredCheckpoint

CHECKPOINT_EVERY = timedelta(seconds=60)  # while plays happen


class ProofOutOfRange(InvalidRequest):
    """A proof asked for a tree the log has not reached, or a play beyond its tree."""


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    size: int
    leaf_hash: bytes
    hashes: list[bytes]
    root: bytes


class ProofCases:
    log: CampaignLog
    clock: Callable[[], datetime]
    signer: Signer | None
    _checked_at: dict[str, datetime]

    # -- signed checkpoints ---------------------------------------------------------------

    def checkpoint(
        self, campaign_id: str, *, fresh: bool = True, covering: int | None = None
    ) -> StoredCheckpoint | None:
        """The latest signed checkpoint; ``fresh``, one that covers every play there is now
        (signed now if the latest does not: so never more checkpoints than plays, however
        often it is asked); with ``covering``, the latest if it covers that seq already. None:
        no key to sign with, or none made yet."""
        latest = self.log.latest_checkpoint(campaign_id)
        if not fresh or self.signer is None:
            return latest
        if latest is not None and covering is not None and covering < latest.size:
            return latest  # it covers the play asked about already
        size, frontier = self.log.tree_head(campaign_id)
        if latest is not None and latest.size >= size:
            return latest
        root = merkle.Frontier.from_bytes(size, frontier).root()
        body = Checkpoint(f"{self.signer.name}/{campaign_id}", size, root).body()
        self.log.add_checkpoint(
            campaign_id, StoredCheckpoint(size, root, self.signer.sign(body), self.clock())
        )
        return self.log.latest_checkpoint(campaign_id)  # another worker's may be newer

    def checkpoint_if_due(self, campaign_id: str) -> None:
        """After a play: a checkpoint at least every minute while plays happen. Each process
        remembers when it last looked, so this reads the database once a minute at most."""
        if self.signer is None:
            return
        now = self.clock()
        if now - self._checked_at.get(campaign_id, datetime.min.replace(tzinfo=now.tzinfo)) < (
            CHECKPOINT_EVERY
        ):
            return
        self._checked_at[campaign_id] = now
        latest = self.log.latest_checkpoint(campaign_id)
        if latest is None or now - latest.created_at >= CHECKPOINT_EVERY:
            self.checkpoint(campaign_id)
        else:
            self._checked_at[campaign_id] = latest.created_at

    # -- the tree --------------------------------------------------------------------------

    def tree_size(self, campaign_id: str) -> int:
        return self.log.tree_head(campaign_id)[0]

    def tree_root(self, campaign_id: str, size: int | None = None) -> tuple[int, bytes]:
        """The size asked for (by default the tree's now) and the root at that size."""
        current, frontier = self.log.tree_head(campaign_id)
        if size is None or size == current:
            return current, merkle.Frontier.from_bytes(current, frontier).root()
        self._within(size, current)
        return size, merkle.root(size, self._nodes(campaign_id, merkle.root_nodes(size)))

    def inclusion(self, campaign_id: str, seq: int, size: int | None = None) -> InclusionProof:
        """The play ``seq`` in the tree of ``size`` plays (by default all there are now)."""
        current, frontier = self.log.tree_head(campaign_id)
        size = current if size is None else size
        self._within(size, current)
        if not 0 <= seq < size:
            raise ProofOutOfRange(
                f"seq must be a play of the tree: 0 to {size - 1} for size {size}"
                if size
                else "the log has no plays yet"
            )
        # The proof's nodes and, for an older size, its root's, in one query.
        older = merkle.root_nodes(size) if size != current else []
        get = self._nodes(campaign_id, [(0, seq), *merkle.inclusion_nodes(seq, size), *older])
        root = (
            merkle.root(size, get) if older else merkle.Frontier.from_bytes(size, frontier).root()
        )
        return InclusionProof(seq, size, get(0, seq), merkle.inclusion_proof(seq, size, get), root)

    def consistency(self, campaign_id: str, old: int, new: int) -> list[bytes]:
        """RFC 9162's proof that the tree of ``old`` plays is a prefix of the tree of ``new``."""
        current = self.tree_size(campaign_id)
        self._within(new, current)
        if not 0 < old <= new:
            raise ProofOutOfRange(
                f"from must be between 1 and to ({new}): a proof from the empty tree proves "
                "nothing, and a tree cannot shrink"
            )
        get = self._nodes(campaign_id, merkle.consistency_nodes(old, new))
        return merkle.consistency_proof(old, new, get)

    def receipts(
        self, campaign_id: str, seqs: list[int]
    ) -> tuple[StoredCheckpoint | None, dict[int, InclusionProof]]:
        """Proofs of the plays ``seqs`` against the latest signed checkpoint, signed now if it
        does not cover them all (a shopper's receipts, CONTRACT §12): the nodes of every proof
        in one query. Without a checkpoint (no signing key), no proofs."""
        made = self.checkpoint(campaign_id, covering=max(seqs, default=-1))
        if made is None or not seqs:
            return made, {}
        size = made.size
        covered = [seq for seq in seqs if 0 <= seq < size]
        wanted = [n for seq in covered for n in [(0, seq), *merkle.inclusion_nodes(seq, size)]]
        get = self._nodes(campaign_id, wanted)
        proofs = {
            seq: InclusionProof(
                seq, size, get(0, seq), merkle.inclusion_proof(seq, size, get), made.root
            )
            for seq in covered
        }
        return made, proofs

    @staticmethod
    def _within(size: int, current: int) -> None:
        if not 0 <= size <= current:
            raise ProofOutOfRange(
                f"the log's tree has {current} plays: a size from 0 to {current} (got {size})"
            )

    def _nodes(self, campaign_id: str, wanted: list[merkle.Node]) -> merkle.Get:
        found = self.log.tree_nodes(campaign_id, wanted)

        def get(level: int, index: int) -> bytes:
            try:
                return found[(level, index)]
            except KeyError:
                raise RuntimeError(
                    f"the Merkle tree of {campaign_id} lacks its node ({level}, {index})"
                ) from None

        return get
