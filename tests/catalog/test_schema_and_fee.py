from decimal import Decimal

import pytest

from app.catalog import fees
from app.catalog.schema import check_schema, fields, validate_answers
from app.errors import ValidationError

SCHEMA = {
    "type": "object",
    "properties": {
        "company_name": {"type": "string", "title": "Company name", "minLength": 2, "maxLength": 100},
        "seats": {"type": "integer", "title": "Seats", "minimum": 1, "maximum": 500, "default": 5},
        "region": {"type": "string", "title": "Data region", "enum": ["eu", "us"]},
        "sso": {"type": "boolean", "title": "Single sign-on"},
        "vat_id": {"type": "string", "pattern": "[A-Z]{2}[0-9A-Z]{2,12}"},
    },
    "required": ["company_name", "seats"],
}


def test_a_well_formed_schema_has_no_problems():
    assert check_schema(SCHEMA) == []
    assert check_schema({}) == []


@pytest.mark.parametrize(
    "schema,message",
    [
        ({"type": "array"}, 'type must be "object"'),
        ({"properties": {"Seats": {"type": "integer"}}}, "lower-case letters"),
        ({"properties": {"seats": {"type": "float"}}}, "type must be one of"),
        (
            {"properties": {"seats": {"type": "integer", "minimum": 10, "maximum": 1}}},
            "minimum must not exceed maximum",
        ),
        ({"properties": {"name": {"type": "string", "pattern": "(["}}}, "not a valid regular expression"),
        ({"properties": {"name": {"type": "string", "minLength": "two"}}}, "minLength must be a whole number"),
        ({"properties": {"name": {"type": "string"}}, "required": ["nme"]}, "'nme', which is not a property"),
        ({"properties": {"sso": {"type": "boolean", "maximum": 3}}}, "'maximum' is not supported"),
        ({"properties": {"seats": {"type": "integer", "minimum": 1, "default": 0}}}, "default: must be at least 1"),
        ({"properties": {"r": {"type": "string", "enum": []}}}, "enum must be a list"),
        ("not json", "must be a JSON object"),
    ],
)
def test_a_bad_schema_is_refused_with_a_message_saying_what_is_wrong(schema, message):
    problems = check_schema(schema)
    assert any(message in p for p in problems), problems


def test_schema_becomes_form_fields_in_order():
    by_name = {f.name: f for f in fields(SCHEMA)}
    assert list(by_name) == ["company_name", "seats", "region", "sso", "vat_id"]
    assert by_name["seats"].input_type == "number" and by_name["seats"].required
    assert by_name["region"].input_type == "select" and not by_name["region"].required
    assert by_name["sso"].input_type == "checkbox"
    assert by_name["vat_id"].label == "Vat id"


def test_answers_are_coerced_and_validated():
    answers, errors = validate_answers(SCHEMA, {"company_name": " Acme ", "seats": "12", "sso": "on"})
    assert errors == {}
    assert answers == {"company_name": "Acme", "seats": 12, "sso": True}


@pytest.mark.parametrize(
    "data,field,message",
    [
        ({"seats": "3"}, "company_name", "Company name is required"),
        ({"company_name": "A", "seats": "3"}, "company_name", "at least 2 characters"),
        ({"company_name": "Acme", "seats": "501"}, "seats", "at most 500"),
        ({"company_name": "Acme", "seats": "1.5"}, "seats", "whole number"),
        ({"company_name": "Acme", "seats": "9" * 40}, "seats", "whole number"),
        ({"company_name": "Acme", "seats": "3", "region": "mars"}, "region", "choose one"),
        ({"company_name": "Acme", "seats": "3", "vat_id": "nope"}, "vat_id", "expected format"),
        ({"company_name": "x" * 101, "seats": "3"}, "company_name", "at most 100"),
    ],
)
def test_bad_answers_get_a_message_per_field(data, field, message):
    _, errors = validate_answers(SCHEMA, data)
    assert message in errors[field]


@pytest.mark.parametrize(
    "amount,percent,fee",
    [
        (999, "2.50", 25),  # 24.975 → 25
        (1000, "2.50", 25),
        (1, "50.00", 1),  # 0.5 → 1 (half up)
        (3, "16.67", 1),  # 0.5001 → 1
        (4900, "0", 0),
        (123456789, "100", 123456789),
    ],
)
def test_fee_rounds_half_up_to_the_minor_unit(amount, percent, fee):
    assert fees.fee_for(amount, Decimal(percent)) == fee
    assert fees.price_with_fee(amount, Decimal(percent)) == amount + fee


def test_fee_is_cached_and_the_cache_is_cleared_when_it_changes(app, session, count_queries):
    assert fees.current_percent() == Decimal("0")
    with count_queries() as q:
        assert fees.current_percent() == Decimal("0")
    assert q.count == 0  # served from Redis
    fees.set_fee("2.5", actor_id=None, reason="New pricing")
    assert fees.current_percent() == Decimal("2.50")
    assert app.extensions["redis"].ttl(fees.CACHE_KEY) > 3500


def test_fee_change_keeps_history_and_audit(app, session):
    from app.models import AuditEvent, PlatformFeeChange

    fees.set_fee("3.25", actor_id=None, reason="Launch")
    fees.set_fee("4", actor_id=None, reason="Costs went up")
    history = session.query(PlatformFeeChange).order_by(PlatformFeeChange.changed_at).all()
    assert [(str(h.old_percent), str(h.new_percent)) for h in history] == [("0.00", "3.25"), ("3.25", "4.00")]
    assert session.query(AuditEvent).filter_by(action="fee.changed").count() == 2


@pytest.mark.parametrize("raw", ["abc", "-1", "100.01", "2.555", "NaN", "Infinity", ""])
def test_bad_fee_values_are_refused_and_change_nothing(app, session, raw):
    with pytest.raises(ValidationError):
        fees.set_fee(raw, actor_id=None, reason="x")
    session.rollback()
    assert fees.current_percent() == Decimal("0")


def test_with_redis_down_the_fee_is_read_from_the_database(make_app, app):
    with app.app_context():
        fees.set_fee("7", actor_id=None, reason="Test")
    broken = make_app(REDIS_URL="redis://127.0.0.1:1/0", FAKEREDIS_SERVER=None)
    with broken.app_context():
        assert fees.current_percent() == Decimal("7.00")
