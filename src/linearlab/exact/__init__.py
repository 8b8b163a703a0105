"""Exact least squares: solvers on the Gram statistics (normal, qr, svd, auto) and refinement."""
