"""What the trainer's `fit_iter()` yields: a `BatchEvent` after every batch and an `EpochEvent` at every epoch's end
(and a partial one when a run is stopped mid-epoch). Plain numbers, and the epoch's weights; no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, fields

from core.network import Network


@dataclass
class BatchEvent:
    epoch: int  # 1-based
    batch: int  # 1-based, within the epoch
    batches: int  # batches per epoch
    loss: float  # this batch's mean data loss (before its update; with dropout, if any; without the L2 term)
    accuracy: float  # this batch's accuracy (before its update)
    lr: float  # the learning rate of this batch's update
    samples_seen: int  # training samples processed since fit_iter began (augmented copies count)
    elapsed: float  # seconds spent training since fit_iter began (not counting time paused at a yield)
    total_batches: int  # batches in the whole run
    running_loss: float = 0.0  # mean loss over this epoch so far
    running_accuracy: float = 0.0  # accuracy over this epoch so far
    threads: int = 0  # BLAS threads in force for this batch (core.threads; 0 where no BLAS library is loaded)


@dataclass
class EpochEvent:
    epoch: int
    epochs: int
    train_loss: float  # the running mean over the epoch's batches (weights changing as it goes; with dropout)
    train_accuracy: float  # likewise
    test_loss: float | None  # on the full test set with the epoch's final weights; None without a test split
    test_accuracy: float | None
    epoch_seconds: float  # training time of this epoch, including the test evaluation
    elapsed: float  # training time since fit_iter began
    samples_per_second: float  # training samples per second in this epoch (the test evaluation not counted)
    network: Network  # a copy: this epoch's weights
    lr: float = 0.0  # the learning rate of the epoch's last update
    partial: bool = False  # a run stopped mid-epoch: this epoch's batches so far (`Trainer.stop`)
    x: float = 0.0  # epochs trained at this event: `epoch` for a whole one, e.g. 1.33 for a partial one
    dynamics: object = None  # core.training_record.Dynamics: every training image's record so far (a snapshot)

    def as_dict(self) -> dict:
        """The numbers, for `history` and JSON; a partial epoch also has "x" and "partial": 1."""
        skip = ("network", "partial", "x", "dynamics")
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        if self.partial:
            d.update(x=self.x, partial=1)
        return d
