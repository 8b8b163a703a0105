"""Tensors on a device as a data source: finding torch, checking devices, moving rows there.

Everything that puts data on a torch device goes through here, so the exact solvers
(:mod:`linearlab.exact.device`) and the torch training backend move data the same way:

- tensors already on the device are used where they are (sliced, never copied to NumPy);
- host arrays (NumPy, or CPU tensors viewed as NumPy) reach a CUDA device through a ring of
  pinned staging buffers: a background thread fills them ahead
  (:mod:`linearlab.data.staging`; ``torch`` copies large CPU tensors with all cores) while the
  GPU copies block *i* on a side stream and computes on block *i - 1*;
- on ``device="cpu"`` a host block is viewed, not copied, when its dtype already fits.

torch is optional: it is imported only when these functions run, and a missing torch or device
ends in a :class:`~linearlab.errors.BackendUnavailableError`.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from linearlab.errors import BackendUnavailableError, ParameterError

# Bytes of one staged block per array. Large blocks keep the copy engine busy on a GPU; on the
# CPU small blocks keep the centred temporaries in cache.
CUDA_BLOCK_BYTES = 64 * 2**20
CUDA_RESIDENT_BLOCK_BYTES = 512 * 2**20
CPU_BLOCK_BYTES = 8 * 2**20
# Staging buffers per host array (the background filler runs this many blocks ahead)
STAGING_SLOTS = 3
# Training data stays in host memory (streamed to the device) when it needs more than this
# share of the device's free memory.
DEVICE_MEMORY_SHARE = 0.5


def require_torch():
    """The ``torch`` module, or a :class:`BackendUnavailableError` saying how to install it."""
    try:
        return importlib.import_module("torch")
    except ImportError as exc:
        raise BackendUnavailableError(
            f"backend='torch' needs PyTorch, which is not installed ({exc}). Install it with "
            "`pip install 'linearlab[torch]'` (or `pip install torch`), or use backend='numpy'."
        ) from None


def is_tensor(obj: Any) -> bool:
    """Whether ``obj`` is a torch tensor (checked without importing torch)."""
    return type(obj).__module__.startswith("torch") and hasattr(obj, "device") and hasattr(
        obj, "detach"
    )


def resolve_device(device: Any):
    """A ``torch.device`` that exists on this machine, else :class:`BackendUnavailableError`."""
    torch = require_torch()
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise BackendUnavailableError(
            f"device={device!r} is not a valid torch device ({exc}). Use 'cpu', 'cuda', "
            "'cuda:0', 'mps', ..."
        ) from None
    try:
        probe = torch.empty(1, device=dev)  # the one reliable test: allocate on it
    except (RuntimeError, AssertionError, AttributeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BackendUnavailableError(
            f"device={device!r} is not available on this machine ({reason}). Use "
            "device='cpu', or install a PyTorch build for that device."
        ) from None
    return probe.device  # 'cuda' resolved to 'cuda:0', so devices compare equal


def torch_dtype(dtype: Any):
    """The torch dtype of a NumPy float dtype (float64 or float32)."""
    torch = require_torch()
    if isinstance(dtype, torch.dtype):
        return dtype
    name = np.dtype(dtype).name
    if name not in ("float64", "float32"):
        raise ParameterError(f"dtype must be float64 or float32, got {name}.")
    return getattr(torch, name)


def _host_view(a):
    """A CPU tensor sharing the memory of ``a`` (a NumPy array or a CPU tensor)."""
    torch = require_torch()
    if is_tensor(a):
        return a.detach()
    a = np.asarray(a)
    if any(st < 0 or st % a.itemsize for st in a.strides):  # torch views positive strides only
        a = np.ascontiguousarray(a)
    # a strided array (Fortran order, a column slice) is viewed, not copied: each block is
    # gathered into its staging buffer (or onto the device) by torch, in parallel
    with warnings.catch_warnings():  # read-only arrays (memory maps): we only read them
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(a)


def on_device(a, dev) -> bool:
    """Whether ``a`` is a tensor already on ``dev``."""
    return is_tensor(a) and a.device == dev


def to_device(a, dev, dtype):
    """The whole of ``a`` on ``dev`` in ``dtype``, copied once (not at all when already there).

    Large host arrays bound for a CUDA device go through :func:`stream_blocks` (pinned,
    overlapped) into one preallocated device tensor.
    """
    torch = require_torch()
    dtype = torch_dtype(dtype)
    if a is None:
        return None
    if is_tensor(a) and a.device == dev:
        return a.detach().to(dtype)
    if dev.type != "cuda":
        return _host_view(a).to(device=dev, dtype=dtype)
    out = torch.empty(tuple(a.shape), dtype=dtype, device=dev)
    start = 0
    for (block,) in stream_blocks([a], dev, dtype=dtype):
        out[start : start + block.shape[0]].copy_(block)
        start += block.shape[0]
    return out


def fits_on_device(arrays: Sequence[Any], dev, dtype) -> bool:
    """Whether ``arrays`` in ``dtype`` (those not already there) fit in the device's free
    memory with room to spare (:data:`DEVICE_MEMORY_SHARE` of it); always True off CUDA."""
    if dev.type != "cuda":
        return True
    torch = require_torch()
    size = torch.empty((), dtype=torch_dtype(dtype)).element_size()
    needed = sum(int(np.prod(a.shape, dtype=np.int64)) * size for a in arrays
                 if a is not None and not on_device(a, dev))
    free, _ = torch.cuda.mem_get_info(dev)
    return needed <= DEVICE_MEMORY_SHARE * free


def host_tensor(a, dtype):
    """``a`` as a CPU tensor in ``dtype`` (a view when it already is one)."""
    if a is None:
        return None
    return _host_view(a).to(device="cpu", dtype=torch_dtype(dtype))


def block_rows(arrays: Sequence[Any], dev, rows: int | None = None) -> int:
    """Rows per block so that each array's block stays near the device's block size."""
    if rows is not None:
        return max(1, int(rows))
    budget = CUDA_BLOCK_BYTES if dev.type == "cuda" else CPU_BLOCK_BYTES
    if dev.type == "cuda" and all(a is None or on_device(a, dev) for a in arrays):
        budget = CUDA_RESIDENT_BLOCK_BYTES  # nothing to stage: fewer, larger blocks
    widest = max(
        int(np.prod(a.shape[1:], dtype=np.int64)) * 8 for a in arrays if a is not None
    )
    return max(256, budget // max(widest, 1))


def stream_blocks(
    arrays: Sequence[Any], dev, *, dtype, rows: int | None = None, stage: bool | None = None
) -> Iterator[tuple]:
    """Consecutive row blocks of ``arrays`` (same number of rows; None entries stay None) on
    ``dev`` in ``dtype``.

    Arrays already on the device are sliced. Host arrays bound for CUDA are staged: a
    background thread copies them block by block into a ring of pinned buffers
    (:class:`~linearlab.data.staging.HostStager`), each filled buffer goes to the device on a
    side stream, and the caller's work on the previous block overlaps both. ``stage=True``
    stages host arrays on the CPU too (through plain buffers: the same path, for tests);
    ``stage=False`` never stages. A yielded block is valid until the next one is requested.
    """
    dtype = torch_dtype(dtype)
    present = [a for a in arrays if a is not None]
    n = int(present[0].shape[0])
    step = min(block_rows(present, dev, rows), max(n, 1))  # staging no larger than the data
    host = [a is not None and not on_device(a, dev) for a in arrays]
    if stage is None:
        stage = dev.type == "cuda"
    views = [None if a is None else (_host_view(a) if h else a)
             for a, h in zip(arrays, host, strict=True)]
    # a CUDA tensor on another device than dev is copied there block by block, not staged
    staged = [h and v.device.type == "cpu" for v, h in zip(views, host, strict=True)]
    bounds = [(lo, min(n, lo + step)) for lo in range(0, n, step)]
    if not (stage and any(staged) and bounds):
        for lo, hi in bounds:
            yield tuple(None if v is None else v[lo:hi].to(device=dev, dtype=dtype)
                        for v in views)
        return
    blocks = _cuda_blocks if dev.type == "cuda" else _host_staged_blocks
    yield from blocks(views, staged, bounds, dev, dtype)


def _host_staged_blocks(views, staged, bounds, dev, dtype):
    """The staging ring without a device copy (CPU): yields the filled buffers themselves."""
    from linearlab.data.staging import HostStager

    stager = HostStager(views, staged, bounds, slots=STAGING_SLOTS)
    try:
        for i, (lo, hi) in enumerate(bounds):
            buffers = stager.wait(i)
            yield tuple(None if v is None
                        else (buffers[j][: hi - lo] if staged[j] else v[lo:hi]).to(device=dev,
                                                                                  dtype=dtype)
                        for j, v in enumerate(views))
            stager.release(i)
    finally:
        stager.close()


def _cuda_blocks(views, staged, bounds, dev, dtype):
    """Pinned staging filled by a background thread, copies on a side stream (see
    :func:`stream_blocks`)."""
    from linearlab.data.staging import HostStager

    torch = require_torch()
    slots = STAGING_SLOTS
    step = bounds[0][1] - bounds[0][0]
    landed = [[torch.empty((step, *v.shape[1:]), dtype=v.dtype, device=dev)
               if s else None for v, s in zip(views, staged, strict=True)] for _ in range(slots)]
    copy_stream = torch.cuda.Stream(device=dev)
    compute = torch.cuda.current_stream(dev)
    consumed: list = [None] * slots  # caller's work on the slot's device block finished
    stager = HostStager(views, staged, bounds, slots=slots, pin=True)
    try:
        for i, (lo, hi) in enumerate(bounds):
            s = i % slots
            pinned = stager.wait(i)  # the filler thread copied block i into pinned memory
            with torch.cuda.stream(copy_stream):
                if consumed[s] is not None:
                    copy_stream.wait_event(consumed[s])  # the device buffer is free again
                for p, d in zip(pinned, landed[s], strict=True):
                    if p is not None:
                        d[: hi - lo].copy_(p[: hi - lo], non_blocking=True)
                copied = torch.cuda.Event()
                copied.record(copy_stream)
            stager.release(i, copied)  # the filler refills the pinned slot after this copy
            compute.wait_event(copied)
            yield tuple(
                None if v is None
                else (landed[s][j][: hi - lo].to(dtype) if staged[j]
                      else v[lo:hi].to(device=dev, dtype=dtype))
                for j, v in enumerate(views)
            )
            consumed[s] = torch.cuda.Event()
            consumed[s].record(compute)
    finally:  # the buffers may be freed only once every copy into or out of them is done
        stager.close()
        copy_stream.synchronize()
        compute.synchronize()


# --------------------------------------------------------------------------- validation
def check_tensor(t, what: str, *, ndims: tuple[int, ...], n_rows: int | None = None):
    """Validate a tensor where it lives (no copy to NumPy): shape, dtype, finiteness.

    Returns the tensor itself, or a float copy on its device when it holds integers or
    booleans (float16/bfloat16 widen to float32). One reduction checks finiteness; the culprit
    is located only when it fails.
    """
    from linearlab.errors import DataError, DataTypeError

    torch = require_torch()
    t = t.detach()
    if t.is_complex():
        raise DataError(f"Complex data not supported: {what} is a complex tensor.")
    if not t.is_floating_point():
        t = t.to(torch.float64)
    elif t.dtype not in (torch.float32, torch.float64):
        t = t.to(torch.float32)
    if t.ndim not in ndims:
        hint = (f" Reshape it with {what}.reshape(-1, 1) if it has a single feature."
                if what == "X" and t.ndim == 1 else "")
        raise DataError(f"{what} must be a {' or '.join(f'{n}-D' for n in ndims)} tensor, got "
                        f"shape {tuple(t.shape)}.{hint}")
    if t.ndim == 0:
        raise DataTypeError(f"{what} is a 0-D tensor; pass one value per row.")
    if n_rows is not None and t.shape[0] != n_rows:
        raise DataError(
            f"X and {what} have inconsistent numbers of samples: X has {n_rows} rows, "
            f"{what} has {t.shape[0]}. Pass one value per row of X."
        )
    if t.shape[0] == 0 or (t.ndim == 2 and t.shape[1] == 0):
        raise DataError(f"{what} is empty (shape {tuple(t.shape)}); pass at least one row and "
                        "one column of data.")
    if not bool(torch.isfinite(t.sum())):  # one cheap reduction; locate only on failure
        bad = ~torch.isfinite(t)
        if bool(bad.any()):
            index = [int(i) for i in torch.nonzero(bad)[0]]
            value = float(t[tuple(index)])
            kind = "NaN" if value != value else ("inf" if value > 0 else "-inf")
            where = f"row {index[0]}" + (f", column {index[1]}" if len(index) > 1 else "")
            raise DataError(
                f"{what} contains {kind} at {where} ({int(bad.sum())} non-finite value(s) in "
                "all; NaN or inf are not allowed). Drop or impute the missing values before "
                "fitting."
            )
    return t


@dataclass
class TensorInput:
    """Training tensors as validated (what the estimator reads of a prepared input)."""

    X: Any
    y: Any
    sample_weight: Any
    design: Any = None
    n_dropped: int = 0


def keeps_tensors(estimator, X) -> bool:
    """Whether ``estimator`` fits ``X`` where it lives: a tensor, ``backend="torch"``, no
    design (formula or categories) and ``missing="error"`` (dropping rows needs the host)."""
    return (is_tensor(X) and getattr(estimator, "backend", None) == "torch"
            and getattr(estimator, "missing", "error") == "error"
            and getattr(estimator, "design_", None) is None)


def validate_tensors(estimator, X, y, sample_weight, *, reset: bool):
    """(X, y, w, prepared) for a fit on tensors, checked on their device.

    X and y stay tensors (never copied to NumPy); sample weights, one number per row, are
    checked on the host as for arrays.
    """
    from linearlab.data.features import check_feature_names, check_n_features
    from linearlab.data.validation import check_sample_weight
    from linearlab.errors import DataError

    if y is None:
        raise DataError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None."
        )
    check_feature_names(estimator, X, reset=reset)
    Xa = check_tensor(X, "X", ndims=(2,))
    ya = (check_tensor(y, "y", ndims=(1, 2), n_rows=Xa.shape[0]) if is_tensor(y)
          else to_device(_checked_y(y, Xa.shape[0]), Xa.device, Xa.dtype))
    check_n_features(estimator, Xa, reset=reset)
    w = check_sample_weight(sample_weight, Xa.shape[0], np.dtype(np.float64))
    return Xa, ya, w, TensorInput(Xa, ya, w)


def _checked_y(y, n_rows: int) -> np.ndarray:
    from linearlab.data.validation import check_y

    return check_y(y, n_rows, dtype="float64")
