"""What a model file's formula may evaluate: the check of exactly the code formulaic runs.

formulaic evaluates a formula's Python terms (``center(x)``, ``np.log(y)``) with ``eval``. Before
it does, it rewrites each term: :func:`formulaic.utils.code.sanitize_variable_names` turns
backtick-quoted names (```höhe m```) into identifiers, by a regular expression that does not read
Python's strings as Python does (``"'\\\\"``). Checking the term as Python parses it therefore
checks a different text from the one that runs. :func:`evaluated_code` applies formulaic's own
rewrite, exactly as ``stateful_eval`` does before ``compile``; :func:`check_term` then checks the
abstract syntax tree of that text against a strict allow-list:

- calls only of formulaic's transforms (``center``, ``scale``, ``standardize``, ``poly``, the
  splines, ``C``, ``I``, ``Q``, ``lag``, the contrasts), ``abs``/``round`` and NumPy's ufuncs
  (``np.log``; no other attribute, no ``np.add.outer``);
- names: the columns the design reads (never a dunder, never a builtin the data does not hold);
- numbers, arithmetic and comparisons; strings and lists only as arguments of a call;
- no subscripts, lambdas, comprehensions, f-strings, star-arguments or unknown keywords;
- bounded cost: no power towers (an integer power's exponent is a literal of at most
  :data:`MAX_POWER`), integers of at most 18 digits, and degrees, degrees of freedom and lags of
  at most :data:`MAX_DEGREE`.

A model file's terms are data to this module: it parses them, it never evaluates them.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterable

import numpy as np

#: Largest degree (``poly``), degrees of freedom (splines) or lag a model file's term may ask.
MAX_DEGREE = 50
#: Largest exponent of an integer power in a model file's term.
MAX_POWER = 100
#: Longest Python term (characters) a model file's formula may hold.
MAX_TERM_CHARS = 2000
#: Longest formula (characters) a model file may hold.
MAX_FORMULA_CHARS = 200_000
_MAX_INT_DIGITS = 18

# callable name -> the keywords it may be given
_CALLS: dict[str, frozenset[str]] = {
    name: frozenset(keywords.split()) for name, keywords in {
        "C": "contrasts levels spans_intercept", "I": "", "Q": "",
        "center": "", "scale": "center scale ddof", "standardize": "center rescale ddof",
        "poly": "degree raw", "lag": "k",
        "bs": "df knots degree include_intercept lower_bound upper_bound extrapolation",
        "cr": "df knots lower_bound upper_bound constraints extrapolation",
        "cs": "df knots lower_bound upper_bound constraints extrapolation",
        "cc": "df knots lower_bound upper_bound constraints extrapolation",
        "log": "", "log10": "", "log2": "", "exp": "", "exp2": "", "exp10": "",
        "Treatment": "reference", "Sum": "", "Helmert": "reverse scale", "Diff": "backward",
        "Poly": "scores", "abs": "", "round": "ndigits",
    }.items()
}
_TAKES_LISTS = {"C", "Treatment", "Poly", "bs", "cr", "cs", "cc"}
_CONTRAST_VALUES = {"Treatment", "Sum", "Helmert", "Diff", "Poly"}
_CONTR_ATTRS = {"treatment", "sum", "helmert", "diff", "poly", "SAS"}
_NP_VALUES = {"pi", "e"}
# (callable, positional index, keyword) of the arguments that size the output
_SIZES = {("poly", 1, "degree"), ("bs", 1, "df"), ("bs", 3, "degree"), ("cr", 1, "df"),
          ("cs", 1, "df"), ("cc", 1, "df")}
_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
_UNARY = (ast.UAdd, ast.USub, ast.Not)


def evaluated_code(expr: str) -> tuple[str, dict[str, str]]:
    """The text formulaic compiles for the term ``expr``, and its aliases (new name -> column).

    This is formulaic's own rewrite, called as ``stateful_eval`` calls it (a fresh environment
    differs only in the names it may choose for quoted columns).
    """
    from formulaic.utils.code import sanitize_variable_names

    aliases: dict[str, str] = {}
    return sanitize_variable_names(str(expr), {}, aliases), aliases


def _np_ufunc(attr: str) -> bool:
    return not attr.startswith("_") and isinstance(getattr(np, attr, None), np.ufunc)


class _Checker:
    """One term's tree against the allow-list (see the module notes)."""

    def __init__(self, expr: str, columns: set[str] | None, aliases: dict[str, str]):
        self.expr, self.columns, self.aliases = expr, columns, aliases

    def fail(self, what: str) -> ValueError:
        return ValueError(f"the term {self.expr!r} {what}, which a model file's formula may not")

    def value_name(self, name: str) -> None:
        original = self.aliases.get(name, name)
        if name.startswith("__") or original.startswith("__"):
            raise self.fail(f"uses the name {name!r}")
        if self.columns is not None:
            if original not in self.columns:
                raise self.fail(f"reads {original!r}, not one of the design's columns")
        elif hasattr(builtins, name):
            raise self.fail(f"uses the builtin {name!r}")

    def callee(self, func: ast.expr) -> str:
        if isinstance(func, ast.Name) and func.id in _CALLS:
            return func.id
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if func.value.id == "np" and _np_ufunc(func.attr):
                return "np." + func.attr
            if func.value.id == "contr" and func.attr in _CONTR_ATTRS:
                return "contr." + func.attr
        raise self.fail(f"calls {ast.unparse(func)!r}")

    def check(self, node: ast.AST, argument: bool = False) -> None:
        """Walk ``node``; ``argument``: it is an argument of an allowed call."""
        if isinstance(node, ast.Expression):
            return self.check(node.body)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Name):
            return self.value_name(node.id) if node.id not in _CONTRAST_VALUES else None
        if isinstance(node, ast.Attribute):
            owner = node.value.id if isinstance(node.value, ast.Name) else None
            ok = (owner == "np" and (node.attr in _NP_VALUES or _np_ufunc(node.attr))) or (
                owner == "contr" and node.attr in _CONTR_ATTRS)
            if not ok:
                raise self.fail(f"uses the attribute {ast.unparse(node)!r}")
            return None
        if isinstance(node, ast.Constant):
            return self.constant(node.value, argument)
        if isinstance(node, (ast.List, ast.Tuple)) and argument:
            for element in node.elts:
                self.check(element, argument=True)
            return None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, _UNARY):
            return self.check(node.operand)
        if isinstance(node, ast.BinOp) and isinstance(node.op, _OPERATORS):
            if isinstance(node.op, ast.Pow):
                self.power(node)
            self.check(node.left)
            return self.check(node.right)
        if isinstance(node, ast.Compare):
            for part in (node.left, *node.comparators):
                self.check(part)
            return None
        if isinstance(node, ast.BoolOp):
            for part in node.values:
                self.check(part)
            return None
        raise self.fail(f"uses {type(node).__name__} ({ast.unparse(node)[:40]!r})")

    def constant(self, value, argument: bool) -> None:
        if value is None or isinstance(value, (bool, float)):
            return
        if isinstance(value, int):
            if len(str(abs(value))) > _MAX_INT_DIGITS:
                raise self.fail("holds an integer of more than 18 digits")
            return
        if isinstance(value, str) and argument and len(value) <= 200:
            return
        raise self.fail(f"holds the constant {value!r:.40}")

    def power(self, node: ast.BinOp) -> None:
        exponent = node.right
        if isinstance(exponent, ast.UnaryOp) and isinstance(exponent.op, (ast.USub, ast.UAdd)):
            exponent = exponent.operand
        if _constant_only(node.right):
            if not (isinstance(exponent, ast.Constant) and isinstance(exponent.value, (int, float))
                    and abs(exponent.value) <= MAX_POWER):
                raise self.fail(f"raises to the power {ast.unparse(node.right)[:40]!r}")
            if _constant_only(node.left) and any(
                    isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow)
                    for n in ast.walk(node.left)):
                raise self.fail("holds a tower of powers")

    def call(self, node: ast.Call) -> None:
        name = self.callee(node.func)
        allowed = _CALLS.get(name, frozenset())
        for keyword in node.keywords:
            if keyword.arg is None or keyword.arg not in allowed:
                raise self.fail(f"passes {keyword.arg or '**'!r} to {name}")
        if name == "Q":
            if len(node.args) != 1 or node.keywords or not isinstance(node.args[0], ast.Constant) \
                    or not isinstance(node.args[0].value, str):
                raise self.fail("uses Q() other than as Q('column')")
            return self.value_name(node.args[0].value)
        # strings and lists only where they are levels, contrasts, knots or scores (a list
        # given to a NumPy function would broadcast the data to its size)
        takes_lists = name in _TAKES_LISTS or name.startswith("contr.")
        for position, arg in enumerate(node.args):
            if isinstance(arg, ast.Starred):
                raise self.fail("passes *arguments")
            self.size(name, position, None, arg)
            self.check(arg, argument=takes_lists and (position > 0 or name != "C"))
        for keyword in node.keywords:
            self.size(name, None, keyword.arg, keyword.value)
            self.check(keyword.value, argument=takes_lists)
            if keyword.arg == "knots" and isinstance(keyword.value, (ast.List, ast.Tuple)) \
                    and len(keyword.value.elts) > MAX_DEGREE:
                raise self.fail(f"gives {name} more than {MAX_DEGREE} knots")

    def size(self, name: str, position: int | None, keyword: str | None, arg: ast.expr) -> None:
        for callee, index, word in _SIZES:
            if callee == name and (position == index or keyword == word):
                value = arg.value if isinstance(arg, ast.Constant) else None
                if isinstance(value, bool) or not isinstance(value, int) or value > MAX_DEGREE:
                    raise self.fail(f"asks {name} for {word}={ast.unparse(arg)[:40]} (at most "
                                    f"{MAX_DEGREE})")


def _constant_only(node: ast.AST) -> bool:
    return not any(isinstance(n, (ast.Name, ast.Call, ast.Attribute)) for n in ast.walk(node))


def check_term(expr: str, columns: Iterable[str] | None = None) -> ast.Expression:
    """Raise ValueError unless the code formulaic evaluates for ``expr`` is allowed; return its
    tree. ``columns``: the data columns the term may read (None: any name but builtins)."""
    if len(str(expr)) > MAX_TERM_CHARS:
        raise ValueError(f"the term {str(expr)[:60]!r}... is longer than {MAX_TERM_CHARS} "
                         "characters")
    code, aliases = evaluated_code(expr)
    if "`" in code:
        raise ValueError(f"the term {expr!r} holds an unmatched backtick")
    try:
        tree = ast.parse(code, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise ValueError(f"the term {expr!r} is not valid Python ({exc})") from None
    _Checker(str(expr), None if columns is None else set(columns), aliases).check(tree)
    return tree


#: Most terms a model file's formula may expand to (an upper bound, computed before formulaic
#: expands ``*``, ``/`` and ``**``). formulaic's parsing time grows with the square of the
#: terms (1,000 terms: 0.25 s, 2,000: 0.6 s, 4,000: about 2.3 s of CPU), and a file's formula
#: is parsed twice.
MAX_FORMULA_TERMS = 2_000


def _combine(symbol: str, args: list[int], exponent: str) -> int:
    if symbol in ("**", "^"):
        if not exponent.isdigit():
            raise ValueError(f"the formula raises terms to the power {exponent[:20]!r}")
        k = min(int(exponent), 64)
        return args[0] ** k * k if args[0] > 1 else 1
    if len(args) == 1 or symbol == "-":
        return args[0]
    if symbol in ("+", "~", "|"):
        return sum(args)
    if symbol in (":", "in", "%in%"):
        return args[0] * args[1]
    total = 1  # '*', '/' and anything else: every product of the parts
    for a in args:
        total *= a + 1
    return total - 1


def _term_bound(root) -> int:
    """An upper bound on the number of terms the formula tree ``root`` expands to (walked
    without recursion: a formula of 20,000 terms is a tree 20,000 deep)."""
    from formulaic.parser.types.ast_node import ASTNode

    values: dict[int, int] = {}
    stack = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if not isinstance(node, ASTNode):
            values[id(node)] = 1
        elif ready:
            exponent = str(getattr(node.args[-1], "token", ""))
            values[id(node)] = min(_combine(node.operator.symbol,
                                            [values[id(a)] for a in node.args], exponent),
                                   10 ** 30)
        else:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args)
    return values[id(root)]


def check_formula_shape(text: str) -> None:
    """Raise ValueError unless ``text`` expands to at most :data:`MAX_FORMULA_TERMS` terms,
    bounded from formulaic's operator tree before anything is expanded or evaluated."""
    from formulaic.parser import DefaultFormulaParser

    flags = DefaultFormulaParser.FeatureFlags.TWOSIDED
    try:
        tree = DefaultFormulaParser(feature_flags=flags).get_ast(str(text))
        bound = _term_bound(tree)
    except RecursionError:
        raise ValueError("the formula is nested too deeply") from None
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - formulaic's errors are many; all mean "invalid"
        raise ValueError(f"the formula cannot be read ({str(exc).splitlines()[0]})") from None
    if bound > MAX_FORMULA_TERMS:
        raise ValueError(f"the formula expands to as many as {bound:.3g} terms (each '*', '/' "
                         f"and '**' multiplies them); a model file's formula may hold "
                         f"{MAX_FORMULA_TERMS:,}")


def check_formula_terms(formula, columns: Iterable[str] | None = None) -> None:
    """:func:`check_term` for every factor formulaic evaluates as Python in ``formula`` (a
    parsed formula, one side of it, or a list of terms); lookups and literals are data."""
    parts = [formula.lhs, formula.rhs] if hasattr(formula, "rhs") else [formula]
    seen: set[str] = set()
    for part in parts:
        for term in part:
            for factor in term.factors:
                if factor.expr in seen:
                    continue
                seen.add(factor.expr)
                if factor.eval_method.value == "python":
                    check_term(factor.expr, columns)
                elif factor.eval_method.value == "literal" and len(factor.expr) > 100:
                    raise ValueError(f"the literal {factor.expr[:40]!r}... is too long")


def term_variables(expr: str) -> set[str]:
    """The data columns the term ``expr`` reads, found without evaluating anything."""
    try:
        code, aliases = evaluated_code(expr)
        tree = ast.parse(code, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {str(expr)}
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in called and node.id != "np" \
                and node.id not in _CONTRAST_VALUES:
            out.add(aliases.get(node.id, node.id))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "Q" and node.args and isinstance(node.args[0], ast.Constant):
            out.add(str(node.args[0].value))
    return out


def formula_degrees(formula) -> list[tuple[str, int]]:
    """``(term, degree)`` of each ``poly(x, degree)`` in a parsed formula (the user's own),
    for the check that a degree stays below the number of rows."""
    out = []
    for term in formula.rhs if hasattr(formula, "rhs") else formula:
        for factor in term.factors:
            if factor.eval_method.value != "python":
                continue
            try:
                tree = ast.parse(evaluated_code(factor.expr)[0], mode="eval")
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                        and node.func.id in ("poly", "bs", "cr", "cs", "cc"):
                    size = [a for a in node.args[1:2]] + [
                        k.value for k in node.keywords if k.arg in ("degree", "df")]
                    for arg in size:
                        if isinstance(arg, ast.Constant) and isinstance(arg.value, int):
                            out.append((factor.expr, int(arg.value)))
    return out
