"""Resident ID numbers, phone numbers and masking."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from volreg import InvalidValue
from volreg.personal import (
    _check_char,
    mask_id_text,
    mask_name,
    mask_phone,
    normalise_phone,
    parse_id_number,
)


def test_the_national_standard_example_is_valid() -> None:
    """11010519491231002X (GB 11643-1999's example) is valid: born 1949-12-31, female."""
    parsed = parse_id_number("11010519491231002X")
    assert (date(1949, 12, 31), "female", "1****************X") == (
        parsed.birth_date,
        parsed.gender,
        parsed.masked,
    )


def test_lower_case_x_is_accepted() -> None:
    """A lower-case check character is the same number."""
    assert "11010519491231002X" == parse_id_number("11010519491231002x").number


@pytest.mark.parametrize(
    ("rule", "value"),
    [
        ("check character", "110105194912310021"),
        ("real birth date", "11010519491331002X"),
        ("17 digits", "1101051949123100"),
        ("17 digits", "11010519491231002Y"),
        ("in the past", "110105" + "20991231" + "002" + _check_char("11010520991231002")),
    ],
)
def test_bad_id_numbers_are_refused_with_the_rule_and_masked_value(rule: str, value: str) -> None:
    """Each bad ID number names its rule, and the message never holds the number in clear."""
    with pytest.raises(InvalidValue) as caught:
        parse_id_number(value)
    message = str(caught.value)
    assert "'id_number'" in message and rule in message
    assert value not in message


def test_a_15_digit_legacy_number_is_converted() -> None:
    """A 15-digit number issued before 1999 becomes its 18-character form."""
    assert "11010519491231002X" == parse_id_number("110105491231002").number


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)), st.integers(0, 999))
def test_every_generated_number_round_trips(born: date, sequence: int) -> None:
    """Any region, real birth date and sequence with its check character is valid and decodes."""
    body = f"620200{born:%Y%m%d}{sequence:03d}"
    parsed = parse_id_number(body + _check_char(body))
    assert born == parsed.birth_date
    assert ("male" if sequence % 2 else "female") == parsed.gender


@pytest.mark.parametrize(
    ("expected", "raw"),
    [
        ("13812345678", "138 1234 5678"),
        ("13812345678", "+86 13812345678"),
        ("0937-6221234", "0937-6221234"),
    ],
)
def test_phones_are_normalised(expected: str, raw: str) -> None:
    """Mobile numbers lose spaces and the country code; landlines keep their area code."""
    assert expected == normalise_phone(raw)


def test_a_bad_phone_is_refused_masked() -> None:
    """A malformed phone is refused and the message shows it masked."""
    with pytest.raises(InvalidValue, match="'phone'") as caught:
        normalise_phone("23812345678")
    assert "23812345678" not in str(caught.value)


def test_masks() -> None:
    """Phones, names and ID-like text are masked the way published lists show them."""
    assert "138****5678" == mask_phone("13812345678")
    assert "王*明" == mask_name("王小明")
    assert "李*" == mask_name("李四")
    assert "6****************2" == mask_id_text("620200199001010012")
