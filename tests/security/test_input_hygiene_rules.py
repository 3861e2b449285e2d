"""Input hygiene (cases/validators.py), from its rules: what every form refuses, with which
error code, and where the boundaries are. The property tests of test_bad_input.py throw random
and hostile input at every form; these name each rule once, at its edges."""

from __future__ import annotations

import datetime as dt

import pytest
from django import forms
from django.core import validators as django_validators
from django.core.exceptions import ValidationError

from cases.validators import (
    EARLIEST_DATE,
    LATEST_DATE,
    LONG_TEXT_MAX_LENGTH,
    CleanInputMixin,
    harden_field,
    single_line,
    usable_email,
    validate_clean_text,
    validate_date_in_range,
    validate_single_line,
)


class Form(CleanInputMixin, forms.Form):
    name = forms.CharField(max_length=5, required=False)
    text = forms.CharField(widget=forms.Textarea, required=False)
    day = forms.DateField(required=False)
    moment = forms.DateTimeField(required=False)
    count = forms.IntegerField(required=False)


def codes(form: forms.Form, field: str) -> list[str]:
    return [e.code for e in form.errors.as_data().get(field, [])]


def refusal(validator, value) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        validator(value)
    return caught.value


class TestCleanText:
    @pytest.mark.parametrize(
        "value", ["", "gewoon", "tab\there", "line\nbreak", "cr\r\nlf", "<b>&amp;</b>", "é ∑ 😀"]
    )
    def test_ordinary_text_tabs_and_line_breaks_pass(self, value):
        validate_clean_text(value)

    def test_a_null_character_is_refused_with_its_own_code_and_message(self):
        error = refusal(validate_clean_text, "a\x00b")
        assert error.code == "null_characters_not_allowed"
        assert "null-teken" in str(error.message)  # ours (Dutch is active), not Django's

    @pytest.mark.parametrize(
        "char", ["\x01", "\x08", "\x0b", "\x0c", "\x0e", "\x1b", "\x1f", "\x7f", "\ud800", "\udfff"]
    )
    def test_invisible_control_characters_and_lone_surrogates_are_refused(self, char):
        assert refusal(validate_clean_text, f"a{char}b").code == "control_characters"

    @pytest.mark.parametrize("value", [None, 3, dt.date(2027, 1, 1)])
    def test_what_is_not_text_is_left_to_its_own_field(self, value):
        validate_clean_text(value)


class TestDateRange:
    @pytest.mark.parametrize(
        "value",
        [
            EARLIEST_DATE,
            LATEST_DATE,
            dt.date(2000, 1, 1),
            dt.date(2099, 12, 31),
            dt.datetime(2000, 1, 1, 0, 0),
            dt.datetime(2099, 12, 31, 23, 59),
            None,
        ],
    )
    def test_the_first_and_the_last_day_are_allowed(self, value):
        validate_date_in_range(value)

    @pytest.mark.parametrize(
        "value",
        [
            dt.date(1999, 12, 31),
            dt.date(2100, 1, 1),
            dt.date(1, 1, 1),
            dt.date(9999, 12, 31),
            dt.datetime(1999, 12, 31, 23, 59),
            dt.datetime(2100, 1, 1, 0, 0),
        ],
    )
    def test_a_day_outside_is_refused_with_its_code_and_the_range_in_the_message(self, value):
        error = refusal(validate_date_in_range, value)
        assert error.code == "date_out_of_range"
        assert error.params == {"earliest": "01-01-2000", "latest": "31-12-2099"}


class TestEveryFormField:
    def test_a_date_only_field_takes_the_boundary_days_and_refuses_the_day_beyond(self):
        assert Form({"day": "2000-01-01"}).is_valid()
        assert Form({"day": "2099-12-31"}).is_valid()
        for day in ("1999-12-31", "2100-01-01"):
            form = Form({"day": day})
            assert not form.is_valid()
            assert codes(form, "day") == ["date_out_of_range"]

    def test_a_date_time_field_is_checked_by_its_day(self):
        assert Form({"moment": "2099-12-31 23:59"}).is_valid()
        assert Form({"moment": "2000-01-01 00:00"}).is_valid()
        form = Form({"moment": "2100-01-01 00:00"})
        assert not form.is_valid()
        assert codes(form, "moment") == ["date_out_of_range"]

    def test_a_text_field_keeps_its_own_maximum_length(self):
        form = Form({"name": "abcdef"})
        assert not form.is_valid()
        assert codes(form, "name") == ["max_length"]
        assert form.fields["name"].max_length == 5
        assert Form({"name": "abcde"}).is_valid()

    def test_a_text_field_without_a_maximum_gets_the_long_text_maximum(self):
        assert LONG_TEXT_MAX_LENGTH == 20_000
        assert Form({"text": "x" * LONG_TEXT_MAX_LENGTH}).is_valid()
        form = Form({"text": "x" * (LONG_TEXT_MAX_LENGTH + 1)})
        assert not form.is_valid()
        assert codes(form, "text") == ["max_length"]
        field = form.fields["text"]
        assert field.max_length == LONG_TEXT_MAX_LENGTH
        assert field.widget.attrs["maxlength"] == str(LONG_TEXT_MAX_LENGTH)

    def test_a_null_character_gets_our_message_once_not_djangos_as_well(self):
        form = Form({"name": "a\x00b"})
        assert not form.is_valid()
        errors = form.errors.as_data()["name"]
        assert [e.code for e in errors] == ["null_characters_not_allowed"]
        assert "null-teken" in str(errors[0].message)  # ours (Dutch is active), not Django's
        assert not any(
            isinstance(v, django_validators.ProhibitNullCharactersValidator)
            for v in form.fields["name"].validators
        )

    def test_control_characters_are_refused_in_every_text_field(self):
        form = Form({"name": "a\x1bb", "text": "x\x07y"})
        assert not form.is_valid()
        assert codes(form, "name") == ["control_characters"]
        assert codes(form, "text") == ["control_characters"]

    def test_other_fields_get_no_text_or_date_rules(self):
        field = Form().fields["count"]
        assert validate_clean_text not in field.validators
        assert validate_date_in_range not in field.validators
        assert Form({"count": "3"}).is_valid()

    def test_hardening_twice_adds_nothing_twice(self):
        field = forms.CharField()
        harden_field(field)
        once = list(field.validators)
        harden_field(field)
        assert field.validators == once
        assert once.count(validate_clean_text) == 1
        date_field = forms.DateField()
        harden_field(date_field)
        harden_field(date_field)
        assert date_field.validators.count(validate_date_in_range) == 1

    def test_a_field_added_after_the_form_was_made_is_hardened_before_validation(self):
        form = Form({"late": "a\x00b", "late_day": "1999-12-31"})
        form.fields["late"] = forms.CharField()
        form.fields["late_day"] = forms.DateField()
        assert not form.is_valid()
        assert codes(form, "late") == ["null_characters_not_allowed"]
        assert codes(form, "late_day") == ["date_out_of_range"]


class TestOneLineValues:
    def test_line_breaks_tabs_and_control_characters_become_one_space(self):
        assert single_line("Jan\r\n  de\tVries\x85jr\u2028x\u2029y\x00z") == "Jan de Vries jr x y z"
        assert single_line(None) == ""
        assert single_line(" a ") == "a"

    @pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\tb", "a\x85b", "a\u2028b", "\x7f"])
    def test_a_one_line_value_refuses_a_break_with_its_code(self, value):
        assert refusal(validate_single_line, value).code == "not_single_line"

    @pytest.mark.parametrize("value", ["Jan de Vries", "a@example.org", None, 3])
    def test_a_one_line_value_passes(self, value):
        validate_single_line(value)

    @pytest.mark.parametrize(
        ("value", "usable"),
        [
            ("a@example.org", "a@example.org"),
            ("  a@example.org ", "a@example.org"),
            ("a@b@example.org", "a@b@example.org"),
            ("a b@example.org", ""),
            ("a\u00a0b@example.org", ""),
            ("a\n@example.org", ""),
            ("a\x85@example.org", ""),
            ("@example.org", ""),
            ("a@", ""),
            ("example.org", ""),
            ("", ""),
            (None, ""),
        ],
    )
    def test_a_usable_e_mail_address(self, value, usable):
        assert usable_email(value) == usable
