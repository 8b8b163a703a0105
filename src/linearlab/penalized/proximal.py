"""Gradient descent for L1 penalties: proximal steps (FISTA) on the epoch driver.

The L1 term has no gradient at zero, so plain gradient descent cannot reach the lasso's exact
zeros. A proximal step takes the gradient step on the smooth part and then applies the L1
term's proximal map, soft thresholding (ISTA); FISTA adds Nesterov's momentum and is restarted
whenever the objective rises (O'Donoghue & Candès), which keeps it monotone in practice::

    v = w + (t_prev − 1)/t · (w − w_prev)
    w_next = S(v − lr·∇f(v), lr·l1),   S(z, τ) = sign(z)·max(|z| − τ, 0)

with f(w) = ½wᵀQw − qᵀw + ½l2‖w‖² on the Gram statistics per unit weight (one full-batch
epoch is O(d²) per target once the Gram is known) and ``lr = 1/L``, L = λ_max(Q) + l2. The
intercept is ȳ − x̄ᵀw, exact for every w. Every epoch goes through the shared
:class:`~linearlab.descent.driver.EpochDriver` (history, parameter path, divergence, logging);
the run stops when the duality gap reaches scikit-learn's tolerance, and the diagnosis compares
the final objective with the penalized optimum that coordinate descent finds exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from linearlab.descent.config import DescentConfig
from linearlab.descent.diagnosis import RELATIVE_GAP_TOLERANCE, Diagnosis
from linearlab.descent.driver import EpochDriver
from linearlab.exact.gram import Gram
from linearlab.penalized.cd import duality_gap, enet_gram
from linearlab.penalized.path import unit_problem


@dataclass
class ProximalFit:
    """Outcome of a proximal run: (d, k) coefficients, (k,) intercepts and the training record."""

    coef: np.ndarray
    intercept: np.ndarray
    history: list[float]
    params_history: np.ndarray | None
    n_iter: int
    learning_rate: float
    optimum: np.ndarray  # (d, k): coordinate descent's exact penalized optimum
    diagnosis: Diagnosis
    # history[i] is epoch i * history_stride, history[-1] the last (thinned past a budget)
    history_stride: int = 1


def _objective(Q, q, yy, W, l1, l2) -> np.ndarray:
    """Penalized objective per target (k,)."""
    QW = Q @ W
    return (0.5 * np.einsum("jk,jk->k", W, QW) - np.einsum("jk,jk->k", q, W) + 0.5 * yy
            + l1 * np.abs(W).sum(axis=0) + 0.5 * l2 * (W * W).sum(axis=0))


def _shrink(Z: np.ndarray, tau: float, positive: bool) -> np.ndarray:
    if positive:
        return np.maximum(Z - tau, 0.0)
    return np.sign(Z) * np.maximum(np.abs(Z) - tau, 0.0)


def fista(
    gram: Gram, *, alpha: float, l1_ratio: float, fit_intercept: bool = True,
    positive: bool = False, epochs: int = 1000, tol: float = 1e-4,
    coef_init: np.ndarray | None = None, log_every: int = 0,
    feature_names: list[str] | None = None,
) -> ProximalFit:
    """Minimise the elastic-net objective by FISTA with restarts (see the module notes).

    Parameters
    ----------
    gram : Gram
        Statistics of the training rows.
    alpha, l1_ratio : float
        scikit-learn's penalty parameters.
    epochs : int
        Most full-batch proximal steps.
    tol : float
        Stop when every target's duality gap is at most ``tol · ‖y − ȳ‖²/Σw``.
    coef_init : ndarray (d, k), optional
    log_every : int
        Print the epoch, objective and parameters every ``log_every`` epochs.
    """
    Q, q, yy = unit_problem(gram, fit_intercept)
    d, k = q.shape
    l1, l2 = alpha * l1_ratio, alpha * (1.0 - l1_ratio)
    lipschitz = float(np.linalg.eigvalsh(Q)[-1]) + l2
    lr = 1.0 / lipschitz if lipschitz > 0 else 1.0
    W = np.zeros((d, k)) if coef_init is None else np.array(coef_init, dtype=np.float64)
    W = np.maximum(W, 0.0) if positive else W

    def intercept(W):
        return gram.mean_y - gram.mean_x @ W if fit_intercept else np.zeros(k)

    config = DescentConfig(lr=lr, optimizer="fista", epochs=epochs, tol=None,
                           fit_intercept=fit_intercept, log_every=log_every,
                           feature_names=feature_names, progress=None)
    limit = tol * yy
    previous, momentum, reached = W.copy(), 1.0, False
    current = _objective(Q, q, yy, W, l1, l2)
    driver = EpochDriver(config, W, intercept(W))
    with driver:
        while driver.running:
            next_momentum = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * momentum**2))
            V = W + ((momentum - 1.0) / next_momentum) * (W - previous)
            step = _shrink(V - lr * (Q @ V - q + l2 * V), lr * l1, positive)
            value = _objective(Q, q, yy, step, l1, l2)
            if np.any(value > current):  # restart: drop the momentum, take a plain ISTA step
                step = _shrink(W - lr * (Q @ W - q + l2 * W), lr * l1, positive)
                value = _objective(Q, q, yy, step, l1, l2)
                next_momentum = 1.0
            previous, W, current, momentum = W, step, value, next_momentum
            driver.end_epoch(float(current.mean()), W, intercept(W))
            gaps = [duality_gap(Q, q[:, t], yy[t], W[:, t], Q @ W[:, t], l1, l2, positive,
                                gram.count) for t in range(k)]
            reached = bool(np.all(np.asarray(gaps) <= limit))
            if reached:
                break
    result = driver.result()
    optimum = np.column_stack([
        enet_gram(Q, q[:, t], float(yy[t]), l1, l2, tol=1e-12, max_iter=100_000,
                  positive=positive, n_samples=gram.count).coef for t in range(k)])
    diagnosis = _diagnose(result.history, float(current.mean()),
                          float(_objective(Q, q, yy, optimum, l1, l2).mean()),
                          converged=reached, lr=lr, epochs_run=driver.epoch)
    return ProximalFit(W, intercept(W), result.history, result.params_history, driver.epoch,
                       lr, optimum, diagnosis, history_stride=result.history_stride)


def _diagnose(history: list[float], final: float, optimal: float, *, converged: bool,
              lr: float, epochs_run: int) -> Diagnosis:
    """Compare the final penalized objective with coordinate descent's exact optimum."""
    gap = max(final - optimal, 0.0)
    if converged or gap <= RELATIVE_GAP_TOLERANCE * max(optimal, np.finfo(float).tiny):
        return Diagnosis(True, final, optimal, None)
    return Diagnosis(False, final, optimal, (
        f"Not converged: after {epochs_run} proximal-gradient (FISTA) epochs with lr={lr:.6g} "
        f"the penalized objective is {final:.6g}, above the penalized optimum {optimal:.6g} "
        f"(found exactly by coordinate descent) by {gap:.3g}. To get there: raise max_iter, "
        "or use solver='cd' for the exact answer."
    ))
