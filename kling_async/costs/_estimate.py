"""Estimates of many requests: per family and pack, totals per pack, what is unpriced."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kling_async.costs._table import Estimate

__all__ = ["CostEstimate"]


@dataclass
class CostEstimate:
    """The estimates of a list of requests (or of a job file's jobs).

    Attributes:
        items: ``(label, estimate)`` per request (the label is a job id or an index).
    """

    items: list[tuple[str, Estimate]] = field(default_factory=list)

    @classmethod
    def of(cls, labelled: Iterable[tuple[str, Estimate]]) -> CostEstimate:
        """Collect ``(label, estimate)`` pairs."""
        return cls(list(labelled))

    @property
    def by_pack(self) -> dict[str, float]:
        """Estimated units per pack (only requests with an estimate)."""
        totals: dict[str, float] = {}
        for _, est in self.items:
            if est.units is not None and est.pack is not None:
                totals[est.pack] = round(totals.get(est.pack, 0.0) + est.units, 4)
        return totals

    @property
    def missing(self) -> list[tuple[str, Estimate]]:
        """The requests the table cannot price (``basis`` says why)."""
        return [(label, est) for label, est in self.items if est.units is None]

    @property
    def uncertain(self) -> bool:
        """Some figure rests on an uncertain price or an upper bound."""
        return any(est.uncertain for _, est in self.items if est.units is not None)

    def rows(self) -> list[dict[str, Any]]:
        """One row per family and pack: requests, priced requests, units."""
        table: dict[tuple[str, str], dict[str, Any]] = {}
        for _, est in self.items:
            key = (est.family, est.pack or "-")
            row = table.setdefault(
                key,
                {"family": est.family, "pack": est.pack, "requests": 0, "priced": 0, "units": 0.0},
            )
            row["requests"] += 1
            if est.units is not None:
                row["priced"] += 1
                row["units"] = round(row["units"] + est.units, 4)
        return [table[key] for key in sorted(table)]

    def as_dict(self) -> dict[str, Any]:
        """Everything as plain data (for JSON)."""
        return {
            "by_pack": self.by_pack,
            "rows": self.rows(),
            "missing": [{"label": label, **est.as_dict()} for label, est in self.missing],
            "uncertain": self.uncertain,
            "items": [{"label": label, **est.as_dict()} for label, est in self.items],
        }

    def to_text(self) -> str:
        """A table per family and pack, the totals per pack, and what is unpriced."""
        head = ("family", "pack", "requests", "units")
        lines = [head] + [
            (
                r["family"],
                r["pack"] or "-",
                str(r["requests"]),
                f"{r['units']:g}"
                + (
                    f" ({r['requests'] - r['priced']} unpriced)"
                    if r["priced"] < r["requests"]
                    else ""
                ),
            )
            for r in self.rows()
        ]
        widths = [max(len(line[i]) for line in lines) for i in range(3)]
        out = [
            "  ".join(cell.ljust(w) for cell, w in zip(line[:3], widths, strict=True))
            + "  "
            + line[3]
            for line in lines
        ]
        totals = self.by_pack
        shown = ", ".join(f"{pack} {units:g}" for pack, units in sorted(totals.items())) or "none"
        out.append(f"total units: {shown}  (packs are separate: their units are not added)")
        if self.uncertain:
            out.append(
                "some prices are uncertain (third-party transcription or an upper bound): "
                "compare with the units the report shows as deducted"
            )
        if self.missing:
            out.append(f"{len(self.missing)} without an estimate:")
        for label, est in self.missing[:50]:
            out.append(f"  {label}: {est.basis.removeprefix('no estimate: ')}")
        if len(self.missing) > 50:
            out.append(f"  ... and {len(self.missing) - 50} more without an estimate")
        return "\n".join(out)


def _unpriced(row: dict[str, Any]) -> str:
    missing = row["requests"] - row["priced"]
    return f" ({missing} unpriced)" if missing else ""
