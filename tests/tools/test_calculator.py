"""The calculator tool: exact arithmetic from a parser over ``ast``, never ``eval``."""

from __future__ import annotations

import pytest

from chat.tools.calculator import CalculatorError, calculate, format_number


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("2 + 2", "4"),
        ("0.1 + 0.2", "0.3"),
        ("(1 + 2) ^ 10", "59049"),
        ("2 ** -2", "0.25"),
        ("15% * 80", "12"),
        ("12.5%", "0.125"),
        ("7 // 2", "3"),
        ("7 % 3", "1"),
        ("-3 ** 2", "-9"),
        ("1,000,000 / 4", "250000"),
        ("1 / 3", "0.333333333333333"),
        ("123456789 * 987654321", "121932631112635269"),
        ("2 ** 0.5", "1.41421356237310"),
        ("(2**6000)**(1/2)", "123023192216111717693155881328" + "0" * 874),  # beyond floats: 30 digits
        ("(10**300)**(3/2)", "1" + "0" * 450),
    ],
)
def test_exact_arithmetic(expression, value):
    assert format_number(calculate(expression)) == value


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("9**9**9", "too large"),
        ("2**6000*2**6000*2**6000", "too large"),  # more digits than Python writes an integer in
        ("(10**-300)**(-100/3)", "too large"),
        ("2 ** 100000", "too large"),
        ("1e999999", "too large"),
        ("1 / 0", "Division by zero"),
        ("__import__('os').system('id')", "Only numbers"),
        ("open('/etc/passwd')", "Only numbers"),
        ("x + 1", "Only numbers"),
        ("[1, 2]", "Only numbers"),
        ("'a' * 3", "Only numbers"),
        ("1 if 1 else 2", "Only numbers"),
        ("(-8) ** (1/3)", "not a real number"),
        ("2 +", "not an arithmetic expression"),
        ("", "Give an arithmetic expression"),
        ("1" * 501, "longer than"),
    ],
)
def test_refuses_what_is_not_arithmetic_or_too_large(expression, reason):
    with pytest.raises(CalculatorError, match=reason):
        calculate(expression)
