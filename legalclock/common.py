"""Shared building blocks: the frozen model base, the time zone and input checks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import Annotated, Any, ClassVar, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, ValidationInfo

from legalclock.errors import LegalClockError

# China has kept UTC+8 without DST since 1991; a fixed offset needs no tzdata inside the
# Temporal sandbox and gives the same instants as zoneinfo("Asia/Shanghai") for every
# date the clock supports.
CST = timezone(timedelta(hours=8), "Asia/Shanghai")


class FrozenModel(BaseModel):
    """Immutable, strict-shaped model whose construction errors are `LegalClockError`s.

    Pydantic wraps errors raised in validators into `ValidationError`; constructing a model
    directly re-raises them as the model's `error_type` (or the original `LegalClockError`
    subclass) with one readable message. `model_validate` (used by Temporal's data converter)
    still raises `ValidationError`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    error_type: ClassVar[type[LegalClockError]] = LegalClockError

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise as_legal_error(exc, self.error_type) from exc

    # The names of the class's cached properties, found once per class (``__pydantic_init_subclass__``):
    # walking the class dicts on every copy cost a quarter of a workflow task's time in the sandbox.
    _cached_names: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._cached_names = tuple(
            name for klass in cls.__mro__ for name, attr in vars(klass).items() if isinstance(attr, cached_property)
        )

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """Copy the model, dropping cached properties an update could make stale."""
        copied = super().model_copy(update=update, deep=deep)
        for name in self._cached_names:
            copied.__dict__.pop(name, None)
        return copied


def as_legal_error(exc: ValidationError, default: type[LegalClockError]) -> LegalClockError:
    """Turn a pydantic `ValidationError` into one `LegalClockError` naming the fields.

    Args:
        exc: The validation error.
        default: Error class to use unless a validator raised a more specific one.

    Returns:
        The error to raise, its message one line per problem joined by "; ".
    """
    found = list(_problems(exc, ()))
    kinds = [kind for kind, _ in found if kind is not None]
    return (kinds[0] if kinds else default)("; ".join(text for _, text in found))


def _problems(exc: ValidationError, outer: tuple[str, ...]) -> Iterator[tuple[type[LegalClockError] | None, str]]:
    for err in exc.errors():
        loc = outer + tuple(str(p) for p in err["loc"] if p != "[key]")
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, LegalClockError) and isinstance(cause.__cause__, ValidationError):
            # A nested model converted its own errors in __init__: expand them under our path.
            yield from _problems(cause.__cause__, loc)
        elif isinstance(cause, LegalClockError):
            yield type(cause), _at(loc, str(cause))
        else:
            shown = repr(err["input"])
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            yield None, _at(loc, f"{err['msg']} (got {shown})")


def _at(loc: tuple[str, ...], message: str) -> str:
    """Prefix a message with its location, unless it already starts with the field name."""
    if not loc:
        return message
    if message.startswith((f"{loc[-1]} ", f"{loc[-1]}:")):
        return ".".join((*loc[:-1], message))
    return f"{'.'.join(loc)}: {message}"


def to_local(value: datetime, field: str) -> datetime:
    """Return an aware datetime converted to China Standard Time.

    Args:
        value: The instant.
        field: Name used in the error message.

    Raises:
        LegalClockError: If `value` is naive (its zone would be a guess).
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise LegalClockError(f"{field} must be timezone-aware, got naive datetime {value.isoformat()}")
    return value.astimezone(CST)


def check_days(value: float, field: str, *, positive: bool = False) -> float:
    """Validate a number of working days: finite, >= 0 (or > 0) and a multiple of 0.5.

    Args:
        value: The number of days.
        field: Name used in the error message.
        positive: Whether zero is rejected too.

    Returns:
        The value as a float.
    """
    days = float(value)
    low_ok = days > 0 if positive else days >= 0
    if not (low_ok and (days * 2).is_integer()):
        bound = "> 0" if positive else ">= 0"
        raise LegalClockError(f"{field} must be {bound} and a multiple of 0.5, got {value:g}")
    return days


def _aware(value: datetime, info: ValidationInfo) -> datetime:
    return to_local(value, info.field_name or "datetime")


def _days(value: float, info: ValidationInfo) -> float:
    return check_days(value, info.field_name or "days")


# An aware instant, normalised to China Standard Time so serialised state is uniform.
Instant = Annotated[datetime, AfterValidator(_aware)]
# A number of working days: >= 0 and a multiple of 0.5.
Days = Annotated[float, AfterValidator(_days)]
