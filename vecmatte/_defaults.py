"""Default values shared by the library, the command line and the PyMatting shim, written once."""

from __future__ import annotations

#: Regularisation of the window colour covariances of the closed-form Laplacian.
EPS = 1e-7
#: Window radius of the closed-form Laplacian (3 x 3 windows).
RADIUS = 1
#: Relative residual at which conjugate gradient stops (iterative preconditioners).
RTOL = 1e-6
#: Relative residual at which conjugate gradient stops with the "direct" preconditioner. Its
#: first iteration often lands just below 1e-6 with alpha still up to 1e-2 from the exact
#: solution; a second iteration costs two triangular solves and a product, and brings it
#: within about 1e-3 (bench/results/accuracy.md).
DIRECT_RTOL = 1e-7
#: Preconditioner of the closed-form method (methods declare their own in their MethodSpec).
PRECONDITIONER = "direct"
#: Weight of the known pixels in soft-constraint systems ``L + lam * diag(known)``.
LAMBDA = 100.0
#: Alpha method of :func:`vecmatte.estimate_alpha`.
METHOD = "cf"
