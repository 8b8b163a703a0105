"""Update rules with torch.optim's exact formulas (weight_decay = 0, dampening = 0).

As in torch.optim, each rule is a pure functional update and a small stateful wrapper with
``step``; parameters are updated in place, one array per parameter (weight, bias).
"""

from __future__ import annotations

import numpy as np

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")
MOMENTUM = 0.9
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


def sgd_update(param, grad, buf, *, lr, momentum=0.0, nesterov=False):
    """torch.optim.SGD: buf = μ·buf + g (buf = g at the first step); p -= lr·(g + μ·buf | buf)."""
    if momentum:
        if buf is None:
            buf = grad.copy()
        else:
            buf *= momentum
            buf += grad
        grad = grad + momentum * buf if nesterov else buf
    param -= lr * grad
    return buf


def adam_update(param, grad, m, v, step, *, lr, betas=ADAM_BETAS, eps=ADAM_EPS):
    """torch.optim.Adam: bias-corrected first and second moments."""
    beta1, beta2 = betas
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad * grad
    bias_correction1 = 1 - beta1**step
    bias_correction2_sqrt = np.sqrt(1 - beta2**step)
    denom = np.sqrt(v) / bias_correction2_sqrt + eps
    param -= (lr / bias_correction1) * (m / denom)


class SGD:
    """Stochastic gradient descent, optionally with (Nesterov) momentum."""

    def __init__(self, params, lr, momentum=0.0, nesterov=False):
        self.params, self.lr = params, lr
        self.momentum, self.nesterov = momentum, nesterov
        self.buffers = [None] * len(params)

    def step(self, grads):
        for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
            self.buffers[i] = sgd_update(
                p, g, self.buffers[i], lr=self.lr, momentum=self.momentum, nesterov=self.nesterov
            )


class Adam:
    """Adam with torch's defaults (betas 0.9/0.999, eps 1e-8)."""

    def __init__(self, params, lr, betas=ADAM_BETAS, eps=ADAM_EPS):
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            adam_update(p, g, m, v, self.t, lr=self.lr, betas=self.betas, eps=self.eps)


def make_optimizer(name: str, params, lr: float):
    """The optimizer named ``name`` (one of :data:`OPTIMIZERS`) over ``params``."""
    if name == "sgd":
        return SGD(params, lr)
    if name == "momentum":
        return SGD(params, lr, momentum=MOMENTUM)
    if name == "nesterov":
        return SGD(params, lr, momentum=MOMENTUM, nesterov=True)
    if name == "adam":
        return Adam(params, lr)
    raise ValueError(f"unknown optimizer {name!r}; choose one of {OPTIMIZERS}")


class Averager:
    """Polyak-Ruppert averages of the parameters, as ``SGDRegressor(average=...)``.

    ``start`` samples are seen before averaging begins (0 for ``average=True``); until then the
    average is the current iterate. After each step, ā ← ā + (θ - ā)/m over the m steps
    averaged so far.
    """

    def __init__(self, params, start: int = 0):
        self.params, self.start = params, int(start)
        self.averages = [p.copy() for p in params]
        self.seen = 0
        self.count = 0

    def update(self, n_rows: int) -> None:
        self.seen += n_rows
        if self.seen <= self.start:
            for a, p in zip(self.averages, self.params, strict=True):
                a[...] = p
            return
        self.count += 1
        for a, p in zip(self.averages, self.params, strict=True):
            a += (p - a) / self.count
