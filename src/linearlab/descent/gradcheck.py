"""Check the NumPy engine's hand-derived gradient against torch autograd and finite differences.

Seeds 002 and 004 verify their from-scratch NumPy code against PyTorch; :func:`gradcheck` does
that for any data, parameters and loss, and adds central finite differences as a referee that
depends on neither::

    >>> from linearlab import gradcheck
    >>> print(gradcheck(X, y, coef=[0.5], intercept=0.1, loss="huber"))   # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from linearlab.data.validation import check_sample_weight, check_X, check_y
from linearlab.descent import loop
from linearlab.descent.batches import initial_parameters
from linearlab.descent.config import DescentConfig, penalty_factor
from linearlab.descent.losses import LOSSES, get_loss
from linearlab.errors import ParameterError

# Finite-difference step relative to a parameter's size. Every loss here is piecewise quadratic
# in the parameters, where central differences have no truncation error, so a fairly large step
# keeps rounding error small (about eps·L/h); for losses with kinks (mae at r = 0, huber at
# |r| = delta) the step is shrunk so that no residual crosses a kink.
FD_STEP = 1e-4
_KINKS = {"mae": (0.0,), "huber": (-1.0, 1.0)}


@dataclass
class GradientComparison:
    """Largest disagreement between two gradients.

    ``max_rel`` is normwise: the largest absolute difference divided by the largest gradient
    entry of the two (so entries near zero do not inflate it).
    """

    pair: str
    max_abs: float
    max_rel: float


@dataclass
class GradcheckResult:
    """Gradients by each method and how far apart they are.

    Attributes
    ----------
    loss : str
    gradients : dict of str to ndarray of shape (n_features + 1, n_targets)
        ``"numpy"``, ``"torch"`` (when checked) and ``"finite differences"``: d loss / d coef in
        the first rows, d loss / d intercept in the last (zero without an intercept).
    comparisons : list of GradientComparison
    """

    loss: str
    shape: tuple[int, int, int]  # rows, features, targets
    gradients: dict[str, np.ndarray] = field(repr=False)
    comparisons: list[GradientComparison]

    @property
    def max_rel(self) -> float:
        """The worst relative disagreement over all pairs."""
        return max(c.max_rel for c in self.comparisons)

    def passed(self, rtol: float = 1e-7) -> bool:
        """Whether every pair agrees to ``rtol`` (normwise relative)."""
        return self.max_rel <= rtol

    def as_dict(self) -> dict[str, dict[str, float]]:
        """``{pair: {"max_abs": ..., "max_rel": ...}}``."""
        return {c.pair: {"max_abs": c.max_abs, "max_rel": c.max_rel} for c in self.comparisons}

    def __str__(self) -> str:
        n, d, k = self.shape
        width = max(len(c.pair) for c in self.comparisons) + 2
        lines = [
            f"Gradient check: loss={self.loss!r}, {n} rows x {d} feature(s), {k} target(s)",
            f"{'':<{width}}{'max abs error':>15}{'max rel error':>15}",
        ]
        for c in self.comparisons:
            lines.append(f"{c.pair:<{width}}{c.max_abs:>15.3e}{c.max_rel:>15.3e}")
        verdict = "yes" if self.passed() else "NO"
        lines.append(f"all agree to 1e-7 relative: {verdict}")
        return "\n".join(lines)


def _compare(pair: str, a: np.ndarray, b: np.ndarray) -> GradientComparison:
    max_abs = float(np.max(np.abs(a - b)))
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))))
    return GradientComparison(pair, max_abs, max_abs / scale if scale > 0 else max_abs)


class _Problem:
    """The training objective L(W, b) = loss(XW + b - Y; weights) + p‖W‖² on the full data."""

    def __init__(self, X, Y, weight, loss: str, alpha: float, fit_intercept: bool):
        self.X, self.Y, self.weight, self.loss = X, Y, weight, loss
        self.fit_intercept = fit_intercept
        self.loss_fn = get_loss(loss)
        total = X.shape[0] if weight is None else float(weight.sum())
        self.penalty = penalty_factor(DescentConfig(lr=1.0, loss=loss, alpha=alpha), Y.shape[1],
                                       total)

    def residual(self, W, b):
        return self.X @ W + b - self.Y

    def value(self, W, b) -> float:
        r = self.residual(W, b)
        return self.loss_fn.value(r, self.weight) + self.penalty * float((W * W).sum())

    def numpy_gradient(self, W, b) -> np.ndarray:
        """The engine's own step: :func:`.loop.forward_backward` on the full batch."""
        _, grads = loop.forward_backward(W, b if self.fit_intercept else np.zeros_like(b), self.X,
                                    self.Y, self.weight, self.loss_fn, self.penalty,
                                    self.fit_intercept)
        grad_b = grads[1] if self.fit_intercept else np.zeros(W.shape[1])
        return np.vstack([grads[0], grad_b[None, :]])

    def torch_gradient(self, W, b) -> np.ndarray:
        """loss.backward() through nn.Linear and the torch.nn loss."""
        from linearlab.descent import torch_backend

        torch = torch_backend.require_torch()
        model = torch_backend.make_model((W, b), self.fit_intercept, torch.float64, "cpu")
        criterion = torch_backend.Criterion(self.loss)
        X, Y = torch.from_numpy(self.X), torch.from_numpy(self.Y)
        weight = [] if self.weight is None else [torch.from_numpy(self.weight)]
        loss = criterion(model(X), Y, *weight)
        loss = loss + self.penalty * model.linear.weight.pow(2).sum()
        model.zero_grad()
        loss.backward()
        grad_W = model.linear.weight.grad.numpy().T
        bias = model.linear.bias
        grad_b = np.zeros(W.shape[1]) if bias is None else bias.grad.numpy()
        return np.vstack([grad_W, grad_b[None, :]])

    def finite_difference_gradient(self, W, b, step: float) -> np.ndarray:
        """Central differences (L(θ + h) - L(θ - h)) / 2h, one parameter at a time."""
        d, k = W.shape
        grad = np.zeros((d + 1, k))
        gap = np.inf
        if self.loss in _KINKS:
            r = self.residual(W, b)
            gap = min(float(np.min(np.abs(r - kink))) for kink in _KINKS[self.loss])
        col_scale = np.append(np.max(np.abs(self.X), axis=0), 1.0)
        for i in range(d + (1 if self.fit_intercept else 0)):
            for j in range(k):
                theta = W if i < d else b[None, :]
                row = i if i < d else 0
                h = step * max(1.0, abs(theta[row, j]))
                if 0 < gap < np.inf and col_scale[i] > 0:  # stay on one side of every kink
                    h = min(h, 0.5 * gap / col_scale[i])
                values = []
                for sign in (1.0, -1.0):
                    Wp, bp = W.copy(), b.copy()
                    if i < d:
                        Wp[i, j] += sign * h
                    else:
                        bp[j] += sign * h
                    values.append(self.value(Wp, bp))
                grad[i, j] = (values[0] - values[1]) / (2.0 * h)
        return grad


def gradcheck(
    X: Any,
    y: Any,
    coef: Any,
    intercept: Any = 0.0,
    *,
    loss: str = "mse",
    sample_weight: Any = None,
    alpha: float = 0.0,
    use_torch: bool = True,
    step: float = FD_STEP,
) -> GradcheckResult:
    """Compare three gradients of the training loss at ``(coef, intercept)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
    coef : array-like of shape (n_features,) or (n_targets, n_features)
        Where to take the gradient, shaped like ``LinearRegression.coef_``.
    intercept : float, array-like of shape (n_targets,), or None, default=0.0
        None means a model without intercept.
    loss : {"mse", "sse", "mae", "huber"}, default="mse"
    sample_weight : array-like of shape (n_samples,), default=None
    alpha : float, default=0.0
        Ridge penalty, scaled as in ``LinearRegression(alpha=...)``.
    use_torch : bool, default=True
        Include torch autograd (needs PyTorch; without it, only NumPy vs finite differences).
    step : float, default=1e-4
        Relative finite-difference step.

    Returns
    -------
    GradcheckResult
        ``str()`` is a small table of max abs / rel errors; ``passed(rtol)`` checks them.
    """
    if loss not in LOSSES:
        raise ParameterError(f"gradcheck: unknown loss {loss!r}; choose one of {LOSSES}.")
    if not (isinstance(alpha, (int, float)) and alpha >= 0):
        raise ParameterError(f"gradcheck: alpha must be a number >= 0, got {alpha!r}.")
    if not (isinstance(step, float) and 0 < step < 1):
        raise ParameterError(f"gradcheck: step must be a float in (0, 1), got {step!r}.")
    Xa = check_X(X)
    ya = check_y(y, Xa.shape[0])
    Y = ya.reshape(-1, 1) if ya.ndim == 1 else ya
    weight = check_sample_weight(sample_weight, Xa.shape[0], np.dtype(np.float64))
    fit_intercept = intercept is not None
    try:
        W, b = initial_parameters(
            (coef, 0.0 if intercept is None else intercept), Xa.shape[1], Y.shape[1], None,
            np.float64,
        )
    except ValueError as exc:
        raise ParameterError(
            f"gradcheck: {exc}; pass coef shaped like LinearRegression.coef_."
        ) from None
    if not (np.isfinite(W).all() and np.isfinite(b).all()):
        raise ParameterError("gradcheck: coef and intercept must be finite numbers.")

    problem = _Problem(Xa, Y, weight, loss, float(alpha), fit_intercept)
    gradients = {"numpy": problem.numpy_gradient(W, b)}
    if use_torch:
        gradients["torch"] = problem.torch_gradient(W, b)
    gradients["finite differences"] = problem.finite_difference_gradient(W, b, step)
    comparisons = []
    if use_torch:
        comparisons.append(_compare("numpy vs torch autograd", gradients["numpy"],
                                    gradients["torch"]))
    comparisons.append(_compare("numpy vs finite differences", gradients["numpy"],
                                gradients["finite differences"]))
    if use_torch:
        comparisons.append(_compare("torch vs finite differences", gradients["torch"],
                                    gradients["finite differences"]))
    return GradcheckResult(loss, (Xa.shape[0], Xa.shape[1], Y.shape[1]), gradients, comparisons)
