"""The price table: units per task, as data (``prices.json``), and estimates from it.

Data flow::

    request (family + payload) --attributes()--> model, mode, sound, voice,
        video_input, image_input, resolution
    PriceTable.match() --> the most specific entry (the user's entries first)
    quantity by the entry's "per": second (x duration), image (x n / series amount),
        task (x 1), output_second (the output's length is not in the request:
        no estimate)
    --> Estimate(pack, units, basis, source, uncertain)   (units None = no estimate)

Nothing is guessed: a family, model or combination the table does not price, or
two equally specific entries that disagree, give "no estimate" with the reason.
Video-pack and image-pack units are different currencies and are never added.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from kling_async.endpoints import FAMILIES, REQUEST_MODELS
from kling_async.errors import UsageError

if TYPE_CHECKING:
    from kling_async.models import KlingRequest

__all__ = ["PACKS", "PER", "Estimate", "PriceEntry", "PriceTable", "attributes"]

PER = ("second", "image", "task", "output_second")
"""How an entry's units scale (see the module docstring)."""

PACKS = ("video", "image", "try_on")
"""Resource packs units are deducted from."""

ATTRIBUTES = ("mode", "sound", "voice", "video_input", "image_input", "resolution")
"""Request attributes an entry's ``when`` may name."""

_MAX_PRICES_BYTES = 8 * 1024 * 1024
"""A prices file larger than this is refused (a price table is a few kilobytes)."""


_MAX_SERIES = 9
"""``series_amount: "auto"`` produces up to 9 images: the upper bound is counted."""


@dataclass(frozen=True, slots=True)
class PriceEntry:
    """One line of the price table.

    Attributes:
        families: the task families it prices.
        model: the ``model_name`` it prices (``"*"``: any).
        when: request attributes that must match (``{"mode": "pro", "sound": "on"}``).
        per: ``second``, ``image``, ``task`` or ``output_second`` (see :data:`PER`).
        units: units per ``per``.
        pack: the pack the units come from (``video``, ``image``, ``try_on``).
        source: where the figure comes from.
        date: when that source was current.
        uncertain: the source is not authoritative (confirm against your deductions).
        note: what else to know.
        user: it came from the user's table (wins over the built-in one).
    """

    families: tuple[str, ...]
    model: str
    when: Mapping[str, str]
    per: str
    units: float
    pack: str
    source: str
    date: str = ""
    uncertain: bool = False
    note: str = ""
    user: bool = False

    @property
    def specificity(self) -> int:
        """How much of a request it pins down (the most specific match wins)."""
        return len(self.when) + (self.model != "*")


@dataclass(frozen=True, slots=True)
class Estimate:
    """What one request is expected to cost.

    Attributes:
        family: its task family.
        pack: the pack its units come from (without an estimate: the family's pack,
            None for a family that holds none).
        units: the estimate; None when the table cannot price it (see ``basis``).
        basis: what the figure rests on, or why there is none.
        source: the price's source (and date).
        uncertain: the price comes from a source marked uncertain, the
            quantity is an upper bound, or ``unpriced`` names fields.
        unpriced: fields sent (``extra_body``) that the price table does not read
            and that may change the price; a limited budget refuses such a request.
    """

    family: str
    pack: str | None
    units: float | None
    basis: str
    source: str = ""
    uncertain: bool = False
    unpriced: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        """True when there is a figure."""
        return self.units is not None

    def as_dict(self) -> dict[str, Any]:
        """The estimate as a plain dict (for JSON)."""
        return asdict(self)


def attributes(family: str, params: Mapping[str, Any]) -> dict[str, str]:
    """The attributes of a request payload that prices depend on."""
    mode = params.get("mode")
    resolution = params.get("resolution")
    return {
        "mode": str(mode).lower() if mode else "std",
        "sound": "on" if params.get("sound") == "on" else "off",
        "voice": "yes" if params.get("voice_list") else "no",
        "video_input": "yes" if params.get("video_list") or params.get("video_url") else "no",
        "image_input": "yes" if params.get("image") or params.get("image_list") else "no",
        "resolution": str(resolution).lower() if resolution else "1k",
    }


def _duration(params: Mapping[str, Any]) -> tuple[float, str]:
    value = params.get("duration")
    if value is None or value == "":
        return 5.0, "5 s (Kling's default duration)"
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return 5.0, f"duration {value!r} unreadable: 5 s counted"
    return seconds, f"{seconds:g} s"


def _images(family: str, params: Mapping[str, Any]) -> tuple[float, str, bool]:
    if family == "omni_image" and params.get("result_type") == "series":
        amount = params.get("series_amount", 4)
        if isinstance(amount, int) and amount > 0:
            return float(amount), f"{amount} images (series)", False
        return float(_MAX_SERIES), f"series_amount {amount!r}: up to {_MAX_SERIES} counted", True
    n = params.get("n", 1)
    n = n if isinstance(n, int) and n > 0 else 1
    return float(n), f"{n} image{'s' if n != 1 else ''}", False


class PriceTable:
    """Units per task for each family, model and option (see the module docstring).

    ``PriceTable.default()`` is the built-in table (``kling_async/costs/prices.json``);
    :meth:`extended` and :meth:`load` add your own entries, which win over the
    built-in ones wherever they match.
    """

    def __init__(
        self,
        entries: Iterable[PriceEntry],
        *,
        default_models: Mapping[str, str] | None = None,
    ) -> None:
        self.entries: tuple[PriceEntry, ...] = tuple(entries)
        self.default_models: dict[str, str] = dict(default_models or {})

    @classmethod
    def default(cls) -> PriceTable:
        """The built-in table (its entries name their sources and dates)."""
        return _builtin()

    @classmethod
    def of(
        cls,
        prices: PriceTable
        | str
        | os.PathLike[str]
        | Mapping[str, Any]
        | Sequence[Mapping[str, Any]]
        | None,
    ) -> PriceTable:
        """The table for a ``prices=`` setting: None (the built-in table), a table, a
        JSON file of your entries, or those entries as data."""
        if prices is None:
            return cls.default()
        if isinstance(prices, PriceTable):
            return prices
        if isinstance(prices, str | os.PathLike):
            return cls.load(os.fspath(prices))
        return cls.default().extended(prices)

    @classmethod
    def load(cls, path: str | Path) -> PriceTable:
        """The built-in table extended with the JSON file ``path`` (same format as
        the built-in ``prices.json``, or a bare list of entries).

        Raises:
            UsageError: one line naming the file and what is wrong: missing, a
                directory, unreadable, not UTF-8, empty, not JSON, nested too deep, a
                single entry not in a list, or an entry that is malformed (the
                message names the entry and the field).
        """
        path = Path(path)
        try:
            raw = path.read_bytes()
        except IsADirectoryError:
            raise UsageError(f"prices file {path}: is a directory, not a JSON file") from None
        except OSError as exc:
            raise UsageError(f"prices file {path}: {exc.strerror or exc}") from None
        if len(raw) > _MAX_PRICES_BYTES:
            raise UsageError(f"prices file {path}: larger than {_MAX_PRICES_BYTES} bytes")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UsageError(
                f"prices file {path}: not UTF-8 text (byte {exc.start}); save it as UTF-8 JSON"
            ) from None
        if not text.strip():
            raise UsageError(f"prices file {path}: empty; expected a JSON list of price entries")
        try:
            data = json.loads(text)  # NaN / Infinity load; the entry naming them is refused
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"prices file {path}: not JSON ({exc.msg}, line {exc.lineno})"
            ) from None
        except RecursionError:
            raise UsageError(f"prices file {path}: nested too deep to be a price table") from None
        return cls.default().extended(data, where=f"prices file {path}")

    def extended(
        self, data: Mapping[str, Any] | Sequence[Mapping[str, Any]], *, where: str = "prices"
    ) -> PriceTable:
        """A copy with the user's entries added (they win where they match).

        ``data`` is a list of entries or ``{"entries": [...], "default_models": {...}}``;
        an entry needs ``families``, ``per``, ``units`` and ``pack``; ``model``
        (default ``"*"``), ``when``, ``source`` (default: ``where``), ``date``,
        ``uncertain`` and ``note`` are optional.

        Raises:
            ValueError: an entry is malformed; the message names it and the field.
        """
        if isinstance(data, Mapping):
            if "entries" not in data:
                if {"families", "family", "units"} & set(data):
                    raise UsageError(f"{where}: one entry on its own; put it in a list: [{{...}}]")
                raise UsageError(
                    f"{where}: expected a list of price entries or an object with "
                    f'"entries"; got an object with {", ".join(sorted(map(str, data)))}'
                )
            unknown = sorted(set(map(str, data)) - {"entries", "default_models", "sources"})
            if unknown:
                raise UsageError(f"{where}: unknown key(s) {', '.join(unknown)}")
            raw = data.get("entries", [])
            models = data.get("default_models", {})
        elif isinstance(data, Sequence) and not isinstance(data, str | bytes):
            raw, models = data, {}
        else:
            raise UsageError(
                f"{where}: expected a list of price entries, got {type(data).__name__}"
            )
        if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
            raise UsageError(f"{where}: entries must be a list")
        if not isinstance(models, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in models.items()
        ):
            raise UsageError(f"{where}: default_models must map family names to model names")
        added = [
            _entry(item, f"{where} entry {i + 1}", None, user=True) for i, item in enumerate(raw)
        ]
        return PriceTable([*added, *self.entries], default_models={**self.default_models, **models})

    def user_data(self) -> dict[str, Any]:
        """The user's entries as data :meth:`extended` takes back (for a journal)."""
        return {
            "entries": [
                {
                    "families": list(e.families),
                    "model": e.model,
                    "when": dict(e.when),
                    "per": e.per,
                    "units": e.units,
                    "pack": e.pack,
                    "source": e.source,
                    "date": e.date,
                    "uncertain": e.uncertain,
                    "note": e.note,
                }
                for e in self.entries
                if e.user
            ],
            "default_models": {
                k: v for k, v in self.default_models.items() if _builtin_model(k) != v
            },
        }

    def estimate(self, family: str, params: Mapping[str, Any]) -> Estimate:
        """Estimate one request given as its family and payload.

        A 2026-design request may be given as its model's fields (``model``,
        ``settings``... as in a job file) or as its ``pricing_params()``; it is priced
        by its own entries first, then by those of its ``/v1`` sibling family under
        the ``/v1`` name of the same model (``kling-3.0`` = ``kling-v3``).
        """
        if family not in FAMILIES:
            return Estimate(family, None, None, f"{family!r} is not a task family")
        as_fields = FAMILIES[family].priced_like is not None and "model_name" not in params
        if as_fields or "extra_body" in params:
            request = _request(family, params)
            if isinstance(request, str):
                pack = FAMILIES[family].pack
                return Estimate(
                    family, pack.value if pack else None, None, f"no estimate: {request}"
                )
            return self.estimate_request(request)
        return self._estimate(family, params)

    def estimate_request(
        self, request: KlingRequest, body: Mapping[str, Any] | None = None
    ) -> Estimate:
        """Estimate ``request`` from what is sent: ``body`` (the wire body the create
        gate built; default the request's own), ``extra_body`` included. Fields of
        ``extra_body`` the model does not declare make the estimate uncertain and are
        named in ``unpriced``."""
        est = self._estimate(request.family, request.pricing_params(body))
        unpriced = request.unpriced_fields()
        if not unpriced:
            return est
        return replace(
            est,
            uncertain=True,
            unpriced=unpriced,
            basis=f"{est.basis}; extra_body {', '.join(unpriced)} may change the price "
            "and the price table does not read it",
        )

    def _estimate(self, family: str, params: Mapping[str, Any]) -> Estimate:
        attrs = attributes(family, params)
        model = params.get("model_name")
        model_text = str(model) if model else ""
        if not model_text and family in self.default_models:
            model_text = self.default_models[family]
            model_note = f"model_name not set: Kling's default {model_text}"
        else:
            model_note = model_text or "no model_name"
        entry, problem = self._match(family, model_text, attrs)
        slots_pack = FAMILIES[family].pack
        if entry is None:
            return Estimate(
                family,
                None if slots_pack is None else slots_pack.value,
                None,
                f"no estimate: {problem} ({model_note})",
            )
        rate = f"{entry.units:g} {entry.pack} units"
        source = f"{entry.source}, {entry.date}" if entry.date else entry.source
        what = ", ".join([model_note, *(f"{k} {attrs[k]}" for k in sorted(entry.when))])
        if entry.per == "output_second":
            return Estimate(
                family,
                entry.pack,
                None,
                f"no estimate: billed {rate} per second of output ({entry.note or 'its length'}),"
                " which the request does not fix",
                source,
                entry.uncertain,
            )
        upper = False
        if entry.per == "second":
            quantity, how = _duration(params)
            basis = f"{what}: {rate}/s x {how}"
        elif entry.per == "image":
            quantity, how, upper = _images(family, params)
            basis = f"{what}: {rate}/image x {how}"
        else:
            quantity, basis = 1.0, f"{what}: {rate} per task"
        if entry.note:
            basis += f" ({entry.note})"
        return Estimate(
            family,
            entry.pack,
            round(entry.units * quantity, 4),
            basis,
            source,
            entry.uncertain or upper,
        )

    def _match(
        self, family: str, model: str, attrs: Mapping[str, str]
    ) -> tuple[PriceEntry | None, str]:
        fam = FAMILIES[family]
        if fam.priced_like is not None:
            entry, problem = self._match_one(family, model, attrs)
            if entry is not None:
                return entry, problem
            legacy = fam.strategy.legacy_model(model)
            if legacy == model:
                return entry, problem
            return self._match_one(fam.priced_like, legacy, attrs)
        return self._match_one(family, model, attrs)

    def _match_one(
        self, family: str, model: str, attrs: Mapping[str, str]
    ) -> tuple[PriceEntry | None, str]:
        for user in (True, False):
            found = [
                e
                for e in self.entries
                if e.user is user
                and family in e.families
                and (e.model == "*" or e.model == model)
                and all(attrs.get(k) == v for k, v in e.when.items())
            ]
            if not found:
                continue
            best = max(e.specificity for e in found)
            top = [e for e in found if e.specificity == best]
            if len({(e.units, e.per, e.pack) for e in top}) > 1:
                return None, f"{len(top)} equally specific prices disagree for {family}"
            return top[0], ""
        known = sorted({e.model for e in self.entries if family in e.families})
        if not known:
            return None, f"the price table has no price for {family}"
        if model not in known and "*" not in known:
            return None, f"no price for {family} with model {model or '(none)'}"
        return None, f"no price for {family} with these options"


def _request(family: str, params: Mapping[str, Any]) -> KlingRequest | str:
    """A request's fields (as in a job file) as its model, or why not."""
    model = REQUEST_MODELS.get(family)
    if model is None:
        return f"{family} has no request model"
    try:
        return model.model_validate(dict(params))
    except ValidationError as exc:
        return f"the request is not valid ({exc.errors()[0]['msg']})"
    except ValueError as exc:
        return f"the request is not valid ({exc})"


def _entry(item: Any, where: str, sources: Mapping[str, Any] | None, *, user: bool) -> PriceEntry:
    if not isinstance(item, Mapping):
        raise UsageError(f"{where}: an entry must be an object")
    unknown = set(item) - {
        "families",
        "family",
        "model",
        "when",
        "per",
        "units",
        "pack",
        "source",
        "date",
        "uncertain",
        "note",
    }
    if unknown:
        raise UsageError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    families = item.get("families", item.get("family"))
    if isinstance(families, str):
        families = [families]
    if not isinstance(families, list) or not families:
        raise UsageError(f"{where}: families must be a non-empty list of task families")
    for name in families:
        if name not in FAMILIES:
            raise UsageError(f"{where}: families: {name!r} is not a task family")
    per = item.get("per")
    if per not in PER:
        raise UsageError(f"{where}: per must be one of {', '.join(PER)}, got {per!r}")
    units = item.get("units")
    if (
        isinstance(units, bool)
        or not isinstance(units, int | float)
        or not math.isfinite(units)
        or units < 0
    ):
        raise UsageError(f"{where}: units must be a finite number >= 0, got {units!r}")
    pack = item.get("pack")
    if pack == "try-on":
        pack = "try_on"
    if pack not in PACKS:
        raise UsageError(f"{where}: pack must be one of {', '.join(PACKS)}, got {pack!r}")
    when = item.get("when", {})
    if not isinstance(when, Mapping) or any(k not in ATTRIBUTES for k in when):
        raise UsageError(f"{where}: when may name only {', '.join(ATTRIBUTES)}")
    if any(not isinstance(v, str | int | float) for v in when.values()):
        raise UsageError(f'{where}: when\'s values must be text, such as "pro"')
    for name in ("source", "date", "note", "model"):
        if name in item and not isinstance(item[name], str | int | float | type(None)):
            raise UsageError(f"{where}: {name} must be text")
    source_key = str(item.get("source", "")) or where
    source: Any = (sources or {}).get(source_key)
    if isinstance(source, Mapping):
        text, date, uncertain = source["text"], source["date"], bool(source["uncertain"])
    else:
        text, date, uncertain = source_key, "", False
    return PriceEntry(
        families=tuple(families),
        model=str(item.get("model") or "*"),
        when={str(k): str(v).lower() for k, v in when.items()},
        per=per,
        units=float(units),
        pack=pack,
        source=text,
        date=str(item.get("date", date)),
        uncertain=bool(item.get("uncertain", uncertain)),
        note=str(item.get("note", "")),
        user=user,
    )


@cache
def _builtin() -> PriceTable:
    text = resources.files("kling_async.costs").joinpath("prices.json").read_text("utf-8")
    data = json.loads(text)
    sources = data["sources"]
    entries = [
        _entry(item, f"prices.json entry {i + 1}", sources, user=False)
        for i, item in enumerate(data["entries"])
    ]
    return PriceTable(entries, default_models=data["default_models"])


def _builtin_model(family: str) -> str | None:
    return _builtin().default_models.get(family)
