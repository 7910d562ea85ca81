"""Exact arithmetic for the ``calculator`` tool: a small parser over Python's ``ast``, never ``eval``.

Accepted: integers and decimals, ``+ - * / // %`` (modulo between two numbers), ``**`` and ``^`` for
powers, parentheses, unary signs, and a percent sign after a number (``15%`` is 0.15, so ``15% * 80`` is 12).
Numbers are exact fractions, so ``0.1 + 0.2`` is ``0.3``. Anything else (names, calls, attributes, strings,
comparisons) is refused, as are powers whose result would be too large to compute quickly.
"""

from __future__ import annotations

import ast
import re
from decimal import Decimal, InvalidOperation, Overflow, Underflow, localcontext
from fractions import Fraction

MAX_EXPRESSION_CHARS = 500
# About 4,200 decimal digits: under the 4,300 that Python writes an integer in (sys.int_info), so every
# result can be shown.
MAX_RESULT_BITS = 14_000
MAX_DEPTH = 50


class CalculatorError(ValueError):
    """An expression that is not arithmetic, or whose result is out of range; the message says which."""


_PERCENT = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*%(?!\s*[\d.(])")


def _bits(value: Fraction) -> int:
    return value.numerator.bit_length() + value.denominator.bit_length()


def _power(base: Fraction, exponent: Fraction) -> Fraction:
    if exponent.denominator != 1:
        if base < 0:
            raise CalculatorError("A fractional power of a negative number is not a real number.")
        return _fractional_power(base, exponent)
    n = exponent.numerator
    if base == 0 and n < 0:
        raise CalculatorError("Zero cannot be raised to a negative power.")
    if base in (0, 1) or n == 0:
        return base**n
    if base == -1:
        return Fraction(-1 if n % 2 else 1)
    # A lower bound of the result's size (within a factor of two); the result itself is checked after.
    if abs(n) * (max(abs(base.numerator), base.denominator).bit_length() - 1) > MAX_RESULT_BITS:
        raise CalculatorError("That power is too large to compute.")
    return base**n


def _fractional_power(base: Fraction, exponent: Fraction) -> Fraction:
    """``base ** exponent`` in floating point (a root is rarely exact), or in 30-digit decimals beyond its range."""
    if base == 0:
        if exponent < 0:
            raise CalculatorError("Zero cannot be raised to a negative power.")
        return Fraction(0)
    try:
        return Fraction(float(base) ** float(exponent)).limit_denominator(10**12)
    except OverflowError:
        pass
    with localcontext() as context:
        context.prec = 30
        context.Emax, context.Emin = MAX_RESULT_BITS, -MAX_RESULT_BITS
        try:
            value = (Decimal(base.numerator) / Decimal(base.denominator)) ** (
                Decimal(exponent.numerator) / Decimal(exponent.denominator)
            )
        except (Overflow, Underflow):
            raise CalculatorError("That power is too large to compute.") from None
    return Fraction(value)


def _evaluate(node: ast.AST, depth: int = 0) -> Fraction:
    if depth > MAX_DEPTH:
        raise CalculatorError("The expression is nested too deeply.")
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, depth + 1)
    if isinstance(node, ast.Constant) and type(node.value) is float:
        if node.value in (float("inf"), float("-inf")):
            raise CalculatorError("A number in the expression is too large.")
        return Fraction(Decimal(str(node.value)))
    if isinstance(node, ast.Constant) and type(node.value) is int:
        if node.value.bit_length() > MAX_RESULT_BITS:
            raise CalculatorError("A number in the expression is too large.")
        return Fraction(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        value = _evaluate(node.operand, depth + 1)
        return value if isinstance(node.op, ast.UAdd) else -value
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, depth + 1), _evaluate(node.right, depth + 1)
        if isinstance(node.op, ast.Add):
            result = left + right
        elif isinstance(node.op, ast.Sub):
            result = left - right
        elif isinstance(node.op, ast.Mult):
            result = left * right
        elif isinstance(node.op, ast.Div | ast.FloorDiv | ast.Mod):
            if right == 0:
                raise CalculatorError("Division by zero.")
            if isinstance(node.op, ast.Div):
                result = left / right
            elif isinstance(node.op, ast.FloorDiv):
                result = Fraction(left // right)
            else:
                result = left % right
        elif isinstance(node.op, ast.Pow):
            result = _power(left, right)
        else:
            raise CalculatorError("Only + - * / // % and powers are supported.")
        if _bits(result) > MAX_RESULT_BITS:
            raise CalculatorError("The result is too large to compute.")
        return result
    raise CalculatorError("Only numbers, + - * / // % ^, powers and parentheses are allowed.")


def calculate(expression: str) -> Fraction:
    """The exact value of an arithmetic expression; ``CalculatorError`` with a reason otherwise."""
    if not isinstance(expression, str) or not expression.strip():
        raise CalculatorError("Give an arithmetic expression, for example '12 * (3 + 4)'.")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise CalculatorError(f"The expression is longer than {MAX_EXPRESSION_CHARS} characters.")
    text = expression.replace("^", "**").replace("×", "*").replace("÷", "/").replace("−", "-")
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,000,000
    text = _PERCENT.sub(r"(\1/100)", text)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError):
        raise CalculatorError(f"'{expression}' is not an arithmetic expression.") from None
    return _evaluate(tree)


def format_number(value: Fraction) -> str:
    """An exact integer, else a decimal (exact when it terminates, else to 15 significant digits)."""
    if value.denominator == 1:
        return str(value.numerator)
    denominator = value.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    try:
        if denominator == 1:  # terminates
            text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
            return text.rstrip("0").rstrip(".") if "." in text else text
        return format(Decimal(value.numerator) / Decimal(value.denominator), ".15g")
    except InvalidOperation:
        return str(float(value))
