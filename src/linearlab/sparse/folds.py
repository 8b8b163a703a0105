"""Cross-validation fold statistics of sparse X: each fold's train and test Gram from
:func:`.gram.sparse_gram` on its rows (selected, never densified).

The splits are scikit-learn's (``KFold(cv)`` unshuffled for an int or None), as
:func:`linearlab.penalized.folds.fold_statistics` makes them for dense X; the caller wraps the
result in its ``FoldStatistics``.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import KFold, check_cv

from linearlab.errors import ParameterError
from linearlab.sparse.gram import gram_for


def sparse_fold_statistics(X: sp.spmatrix, Y: np.ndarray, w: np.ndarray | None, cv,
                           model: str = "cross-validation"):
    """``(train Grams, test Grams, total Gram)`` of every split of ``cv`` (None = 5 folds).

    Parameters
    ----------
    X : sparse matrix (n, d)
    Y : ndarray (n, k)
    w : ndarray (n,) or None
    cv : int, cross-validation generator, iterable of (train, test) or None
    model : str
        Named in the message when d is too large for the d×d statistics.
    """
    X = sp.csr_matrix(X)
    n = X.shape[0]
    if cv is None or isinstance(cv, Integral):
        k = 5 if cv is None else int(cv)
        if not 2 <= k <= n:
            raise ParameterError(
                f"k-fold cross-validation needs between 2 and n_samples={n} folds, got "
                f"cv={cv!r}."
            )
        cv = KFold(k)
    splits = [(np.sort(np.asarray(tr)), np.sort(np.asarray(te)))
              for tr, te in check_cv(cv).split(X, Y[:, 0])]

    def rows_gram(index):
        return gram_for(X[index], Y[index], None if w is None else w[index], model)

    test = [rows_gram(te) for _, te in splits]
    train = [rows_gram(tr) for tr, _ in splits]
    return train, test, gram_for(X, Y, w, model)
