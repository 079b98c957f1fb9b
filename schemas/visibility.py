"""Search attributes the platform sets on every project, so operators can filter in the UI.

The dev stack and the tests register exactly these at server start.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

PROJECT_ID = SearchAttributeKey.for_keyword("DaibanProjectId")
ZONE = SearchAttributeKey.for_keyword("DaibanZone")
STAGE = SearchAttributeKey.for_keyword("DaibanStage")
AGENT = SearchAttributeKey.for_keyword("DaibanAgent")
OPEN_DEPARTMENTS = SearchAttributeKey.for_keyword_list("DaibanOpenDepartments")
OVERDUE = SearchAttributeKey.for_bool("DaibanOverdue")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("DaibanNextDeadline")
# True while the storage refuses the project's batch for good: an operator must look.
FAULTED = SearchAttributeKey.for_bool("DaibanFaulted")

ALL = (PROJECT_ID, ZONE, STAGE, AGENT, OPEN_DEPARTMENTS, OVERDUE, NEXT_DEADLINE, FAULTED)

_CLI_TYPE = {
    "KEYWORD": "Keyword",
    "KEYWORD_LIST": "KeywordList",
    "BOOL": "Bool",
    "DATETIME": "Datetime",
    "TEXT": "Text",
    "INT": "Int",
    "FLOAT": "Double",
}


def cli_flags() -> list[str]:
    """``--search-attribute Name=Type`` arguments for ``temporal server start-dev``."""
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={_CLI_TYPE[key.indexed_value_type.name]}"]
    return flags


def initial(reg: object) -> TypedSearchAttributes:
    """Search attributes a project starts with, so it is findable before its first task runs."""
    from schemas.project import RegisterProject
    from schemas.stages import Stage

    assert isinstance(reg, RegisterProject)
    return TypedSearchAttributes(
        [
            SearchAttributePair(PROJECT_ID, reg.project_id),
            SearchAttributePair(ZONE, reg.zone),
            SearchAttributePair(STAGE, str(Stage.REGISTERED)),
            SearchAttributePair(AGENT, reg.agent),
            SearchAttributePair(OVERDUE, False),
        ]
    )


def self_contained(query: str) -> str | None:
    """Why ``query`` (a visibility filter) could reach outside the parentheses it is put in; None
    when it cannot.

    daiban narrows a caller's filter by wrapping it: ``<daiban's clause> AND (<query>)``. A query
    with a stray ``)`` (outside a quoted string) would close that parenthesis early and OR its way
    past daiban's clause, e.g. past a zone filter: ``x) OR (DaibanZone = 'yanhu'``. So quotes must
    close and parentheses balance outside them; backslashes are refused, since whether one escapes
    a quote is the parser's business, not this check's.
    """
    depth, quote = 0, ""
    for ch in query:
        if ch == "\\":
            return "a backslash"
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return "a ')' without its '('"
    if quote:
        return f"an unclosed {quote}"
    return "a '(' without its ')'" if depth else None
