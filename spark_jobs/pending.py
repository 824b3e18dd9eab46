"""Micro-batches handed to the ledger writer but not yet committed, kept beside the checkpoint.

Spark marks a micro-batch done when foreachBatch returns; the ledger commits it a moment
later, while Spark already judges the next one. A batch is written down here (its offsets)
before foreachBatch returns and crossed off once committed, so a crash in between loses
nothing: the next start re-reads and commits every batch still written down.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PendingBatch:
    batch_id: int
    topic: str
    ranges: dict[int, tuple[int, int]]  # partition -> (first offset, last offset)


class PendingBatches:
    """One small JSON file per pending batch, written atomically and durably."""

    def __init__(self, checkpoint: str):
        self.folder = Path(checkpoint.removeprefix("file:")) / "tally_pending"

    @staticmethod
    def usable(checkpoint: str) -> bool:
        """Only a local checkpoint folder can hold them (a cluster's may be on HDFS or S3)."""
        return "://" not in checkpoint or checkpoint.startswith("file:")

    def write(self, batch: PendingBatch) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / str(batch.batch_id)
        temporary = final.with_suffix(".tmp")
        document = {
            "batch_id": batch.batch_id,
            "topic": batch.topic,
            "ranges": {str(p): list(r) for p, r in sorted(batch.ranges.items())},
        }
        with open(temporary, "w") as out:
            json.dump(document, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, final)
        folder = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    def remove(self, batch_id: int) -> None:
        (self.folder / str(batch_id)).unlink(missing_ok=True)

    def all(self) -> list[PendingBatch]:
        """The pending batches, oldest first."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.iterdir():
            if not path.name.isdigit():
                continue
            document = json.loads(path.read_text())
            ranges = {int(p): (int(r[0]), int(r[1])) for p, r in document["ranges"].items()}
            found.append(PendingBatch(int(document["batch_id"]), document["topic"], ranges))
        return sorted(found, key=lambda b: b.batch_id)
