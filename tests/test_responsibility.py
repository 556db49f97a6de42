from civeval.models import Method, Point, Responsibility, Standard
from civeval.responsibility import responsible_unit


def std(rule: Responsibility, lead: str | None = "城管局") -> Standard:
    return Standard(
        code="S1",
        text="t",
        methods=[Method.field],
        full_marks=1,
        point_types=["背街小巷"],
        lead_unit=lead,
        responsibility=rule,
    )


def pt(custodian: str | None = "县卫健委", street: str | None = "城关街道") -> Point:
    return Point(code="P1", name="p", point_type="背街小巷", custodian_unit=custodian, street=street)


def test_custodian_rule_goes_to_the_points_custodian_unit():
    assert responsible_unit(std(Responsibility.custodian), pt()) == "县卫健委"


def test_custodian_rule_without_custodian_goes_to_the_street():
    assert responsible_unit(std(Responsibility.custodian), pt(custodian=None)) == "城关街道"


def test_custodian_rule_with_no_local_unit_falls_back_to_the_lead_unit():
    assert responsible_unit(std(Responsibility.custodian), pt(custodian=None, street=None)) == "城管局"


def test_lead_rule_goes_to_the_standards_lead_unit_whatever_the_point():
    assert responsible_unit(std(Responsibility.lead), pt()) == "城管局"


def test_lead_rule_without_lead_unit_falls_back_to_the_point():
    assert responsible_unit(std(Responsibility.lead, lead=None), pt()) == "县卫健委"


def test_without_a_point_the_lead_unit_answers():
    assert responsible_unit(std(Responsibility.custodian), None) == "城管局"
    assert responsible_unit(std(Responsibility.custodian, lead=None), None) is None
