"""Sparsity specifications: a fraction of a matrix's weights, or N of every M consecutive inputs.

Torch-free, so the workflow's checks and the report scripts parse sparsities without importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass

_ALLOWED = "a float in [0, 1) or an 'N:M' pattern with integers 0 < N <= M"


@dataclass(frozen=True)
class Sparsity:
    """What to prune: a fraction `ratio` in [0, 1), or `n` of every `m` consecutive inputs (N:M).

    For N:M, `ratio` is n/m (informational); the pruners use `n` and `m` only, as the reference
    ignores the float sparsity when N != 0.
    """

    ratio: float
    n: int = 0
    m: int = 0

    def __post_init__(self) -> None:
        if self.n == 0 and self.m == 0:
            if not (isinstance(self.ratio, (int, float)) and 0.0 <= self.ratio < 1.0):
                raise ValueError(f"sparsity must be {_ALLOWED}, got {self.ratio!r}")
        elif not (isinstance(self.n, int) and isinstance(self.m, int) and 0 < self.n <= self.m):
            raise ValueError(f"sparsity must be {_ALLOWED}, got '{self.n}:{self.m}'")
        elif self.ratio != self.n / self.m:
            raise ValueError(f"N:M sparsity {self.n}:{self.m} must have ratio {self.n / self.m}, got {self.ratio}")

    @property
    def is_nm(self) -> bool:
        return self.m > 0

    @classmethod
    def parse(cls, spec: Sparsity | float | str | tuple[int, int]) -> Sparsity:
        """Accept a Sparsity, a float (0.5), a string ("0.5", "2:4") or an (N, M) pair."""
        if isinstance(spec, Sparsity):
            return spec
        if isinstance(spec, str) and ":" in spec:
            try:
                n, m = (int(part) for part in spec.split(":"))
            except ValueError:
                raise ValueError(f"sparsity must be {_ALLOWED}, got {spec!r}") from None
            spec = (n, m)
        if isinstance(spec, tuple):
            if len(spec) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in spec):
                raise ValueError(f"sparsity must be {_ALLOWED}, got {spec!r}")
            n, m = spec
            if not 0 < n <= m:
                raise ValueError(f"sparsity must be {_ALLOWED}, got '{n}:{m}'")
            return cls(n / m, n, m)
        if isinstance(spec, str):
            try:
                spec = float(spec)
            except ValueError:
                raise ValueError(f"sparsity must be {_ALLOWED}, got {spec!r}") from None
        if isinstance(spec, bool) or not isinstance(spec, (int, float)):
            raise ValueError(f"sparsity must be {_ALLOWED}, got {spec!r}")
        return cls(float(spec))

    def __str__(self) -> str:
        return f"{self.n}:{self.m}" if self.is_nm else f"{self.ratio:g}"
