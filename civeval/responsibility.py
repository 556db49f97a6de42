"""Which unit answers for a failure of standard S at point P (DOMAIN.md, "responsibility rule").

- 属地/包保 (custodian): the point's custodian unit; if the point has none, its street/town (属地).
- 行业 (lead): the standard's lead unit.
When the rule's unit is missing, the other one is used, so that a failure always reaches someone
when anyone can be named; None only when neither is known. A standard scored without a point
(materials, survey, phone tests) answers to its lead unit.
"""

from __future__ import annotations

from civeval.models import Point, Responsibility, Standard


def responsible_unit(standard: Standard, point: Point | None = None) -> str | None:
    """The name of the unit that answers for a failure of ``standard`` at ``point``."""
    local = (point.custodian_unit or point.street) if point is not None else None
    if standard.responsibility is Responsibility.custodian and local:
        return local
    return standard.lead_unit or local
