"""Time left of a training run, from its recent rate of training time (no Qt).

Two costs make up what is left: the batches still to train, at the rate of the last few seconds of batches, and
the epoch ends still to come (a pass over the test split and a weight snapshot each), at what the last one took.
Both are measured on the training clock the caller passes in, which leaves out time spent paused; so the estimate
does not shrink while a run is paused and does not jump when it resumes. Before the first epoch ends, its cost is
guessed from the batch rate (a forward pass over the test split costs about a third of training on as many
samples).
"""

from __future__ import annotations

from collections import deque

SPEED_WINDOW = 3.0  # seconds of recent batches the rate averages over
EVAL_SHARE = 1.0 / 3.0  # a test sample's forward pass, as a share of a training sample's forward and backward


class TimeLeft:
    """Feed it every batch (`batch(t, samples_seen)`) and epoch end (`epoch_end()`) on the training clock `t`."""

    def __init__(self, n_test: int = 0):
        self.n_test = int(n_test)
        self._speed: deque[tuple[float, int]] = deque()  # (batch clock, samples seen)
        self._overhead = 0.0  # epoch-end time so far, taken off the batch clock
        self._last_batch = None  # training clock at the newest batch
        self._epoch_cost = None  # seconds the newest epoch end took, once one has ended
        self._epoch_ended = False

    def batch(self, t: float, samples_seen: int) -> None:
        if self._epoch_ended and self._last_batch is not None:
            # From the epoch's last batch to this one: the test pass, the snapshot and one batch, as epoch-end cost.
            self._epoch_cost = max(0.0, t - self._last_batch)
            self._overhead += self._epoch_cost
        self._epoch_ended = False
        self._last_batch = t
        clock = t - self._overhead
        self._speed.append((clock, samples_seen))
        while len(self._speed) > 2 and self._speed[0][0] < clock - SPEED_WINDOW:
            self._speed.popleft()

    def epoch_end(self) -> None:
        """An epoch ended: the time until the next batch is epoch-end cost, not batch time."""
        self._epoch_ended = True

    @property
    def samples_per_second(self) -> float:
        if len(self._speed) < 2 or self._speed[-1][0] <= self._speed[0][0]:
            return 0.0
        (t0, s0), (t1, s1) = self._speed[0], self._speed[-1]
        return (s1 - s0) / (t1 - t0)

    def seconds_left(self, batches_left: int, samples_per_batch: float, epoch_ends_left: int) -> float | None:
        """None until a rate is known."""
        rate = self.samples_per_second
        if rate <= 0:
            return None
        epoch_cost = self._epoch_cost
        if epoch_cost is None:
            epoch_cost = self.n_test * EVAL_SHARE / rate
        return max(0, batches_left) * samples_per_batch / rate + max(0, epoch_ends_left) * epoch_cost
