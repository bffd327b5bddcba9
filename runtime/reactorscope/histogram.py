"""A log-linear histogram of durations in nanoseconds, for per-site percentiles: the twin of
``server/src/store/histogram.ts`` (same buckets, same percentiles), so the report and the editor print the
same figures for the same run. ``test/fixtures/hotspots/`` holds the two in step.

Every power of two [2^e, 2^(e+1)) is split into 16 equal sub-buckets, and values below 32 get a bucket each; a
percentile answers the middle of the bucket that holds the exact percentile (within 1/32 of it), never outside
[min, max], and the smallest and largest ranks answer min and max exactly.
"""
from __future__ import annotations

import math
from typing import List, Sequence, Tuple, Union

SUB_BITS = 4
SUB_BUCKETS = 1 << SUB_BITS
HIGHEST_VALUE = 2**53


def _bucket_of(value: int) -> int:
    if value < 2 * SUB_BUCKETS:
        return value
    shift = value.bit_length() - 1 - SUB_BITS
    return shift * SUB_BUCKETS + (value >> shift)


BUCKETS = _bucket_of(HIGHEST_VALUE) + 1


def _bucket_bounds(index: int) -> Tuple[int, int]:
    """(low, width): the integers [low, low + width) that bucket ``index`` holds."""
    shift = max(0, (index >> SUB_BITS) - 1)
    width = 1 << shift
    return (index - shift * SUB_BUCKETS) * width, width


class Histogram:
    __slots__ = ("counts", "count", "total", "lowest", "highest")

    def __init__(self) -> None:
        self.counts: List[int] = [0] * BUCKETS
        self.count = 0
        self.total = 0
        self.lowest = 0
        self.highest = 0

    def record(self, value_ns: Union[int, float]) -> None:
        """Adds one value; negative values (a clock step) count as 0 and fractions are dropped."""
        value = math.floor(value_ns) if value_ns > 0 else 0
        self.counts[_bucket_of(min(value, HIGHEST_VALUE))] += 1
        if self.count == 0 or value < self.lowest:
            self.lowest = value
        if value > self.highest:
            self.highest = value
        self.count += 1
        self.total += value

    @property
    def max(self) -> int:
        return self.highest

    @property
    def min(self) -> int:
        return self.lowest if self.count else 0

    def percentile(self, q: float) -> Union[int, float]:
        """The value at quantile q (0..1) by nearest rank, as histogram.ts answers it; 0 when empty."""
        if self.count == 0:
            return 0
        rank = max(1, math.ceil(min(1.0, max(0.0, q)) * self.count))
        if rank == 1:
            return self.lowest
        if rank == self.count:
            return self.highest
        seen = 0
        index = 0
        while index < BUCKETS - 1:
            seen += self.counts[index]
            if seen >= rank:
                break
            index += 1
        low, width = _bucket_bounds(index)
        middle = low + (width - 1) / 2
        middle = int(middle) if middle == int(middle) else middle
        return min(self.highest, max(self.lowest, middle))

    def cumulative(self, bounds: Sequence[int]) -> List[int]:
        """For each bound (ascending), how many values are at most it, counting a bucket only under the first bound
        its whole range fits: a value less than 1/16 below a bound may count under the next one (Prometheus'
        ``le`` buckets, metrics.py). Never over-counts a bound."""
        out = [0] * len(bounds)
        if not self.count:
            return out
        for index, n in enumerate(self.counts):
            if not n:
                continue
            low, width = _bucket_bounds(index)
            top = min(low + width - 1, self.highest)
            for i, bound in enumerate(bounds):
                if top <= bound:
                    out[i] += n
        return out

    def merge(self, other: "Histogram") -> None:
        if other.count == 0:
            return
        for i, n in enumerate(other.counts):
            if n:
                self.counts[i] += n
        if self.count == 0 or other.lowest < self.lowest:
            self.lowest = other.lowest
        if other.highest > self.highest:
            self.highest = other.highest
        self.count += other.count
        self.total += other.total
