"""The enterprise's contact (personal data): bounded types with format checks, never sent to Temporal.

A registration through the gateway may carry the enterprise's contact: the person, a phone number
and the identity number of the legal representative (法定代表人). These are personal information
(个人信息保护法 §4; the identity number is sensitive personal information, §28), so daiban keeps
them out of Temporal altogether: the gateway stores them encrypted in PostgreSQL
(``eventstore.contacts``, AES-256-GCM) and starts the project without them; the workflow, its
history, search attributes, memo, summaries and current details never hold them.

- ``PersonName``: a ``Name`` of at most 50 characters.
- ``Phone``: a mainland mobile number (11 digits, ``1[3-9]…``, 电信网码号资源管理办法 numbering) or a
  landline with its area code (``0`` + 2-3 digits, optional ``-``, 7-8 digits), optionally ``+86``.
- ``IdNumber``: an 18-character resident identity number (GB 11643-1999): 17 digits and a check
  character (``0-9`` or ``X``) that matches the ISO 7064 MOD 11-2 checksum, birth date valid.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from schemas.base import Frozen
from schemas.bounded import printable_line

PHONE_PATTERN = r"^(\+86)?(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$"
ID_NUMBER_PATTERN = r"^[1-9][0-9]{16}[0-9X]$"
_PHONE = re.compile(PHONE_PATTERN[1:-1])
_ID_NUMBER = re.compile(ID_NUMBER_PATTERN[1:-1])
# GB 11643-1999: weights of the 17 digits and the check character of the sum mod 11.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def _phone(value: str) -> str:
    if not _PHONE.fullmatch(value):
        raise ValueError("a mainland mobile (1[3-9] and 9 digits) or a landline with its area code (0xx-xxxxxxxx)")
    return value


def _id_number(value: str) -> str:
    if not _ID_NUMBER.fullmatch(value):
        raise ValueError("18 characters: 17 digits and a check digit or X (GB 11643-1999)")
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise ValueError("the birth date (characters 7-14) is not a date (GB 11643-1999)") from None
    if _CHECK[sum(int(d) * w for d, w in zip(value[:17], _WEIGHTS, strict=True)) % 11] != value[17]:
        raise ValueError("the check character does not match (GB 11643-1999, ISO 7064 MOD 11-2)")
    return value


PersonName = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=50), AfterValidator(printable_line)]
Phone = Annotated[
    str, StringConstraints(strict=True, min_length=7, max_length=16, pattern=PHONE_PATTERN), AfterValidator(_phone)
]
IdNumber = Annotated[
    str,
    StringConstraints(strict=True, min_length=18, max_length=18, pattern=ID_NUMBER_PATTERN),
    AfterValidator(_id_number),
]


class EnterpriseContact(Frozen):
    """The enterprise's contact: ``person`` (who to call), ``phone``, and ``legal_rep_id_number``
    (the legal representative's resident identity number). Personal data: see the module."""

    # repr=False: a contact logged or shown in a traceback by mistake prints no personal data.
    person: PersonName = Field(repr=False)
    phone: Phone = Field(repr=False)
    legal_rep_id_number: IdNumber = Field(repr=False)
