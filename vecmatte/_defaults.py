"""Default values shared by the library, the command line and the PyMatting shim, written once."""

from __future__ import annotations

#: Regularisation of the window colour covariances of the closed-form Laplacian.
EPS = 1e-7
#: Window radius of the closed-form Laplacian (3 x 3 windows).
RADIUS = 1
#: Relative residual at which conjugate gradient stops.
RTOL = 1e-6
#: Preconditioner of the closed-form method (methods declare their own in their MethodSpec).
PRECONDITIONER = "direct"
#: Weight of the known pixels in soft-constraint systems ``L + lam * diag(known)``.
LAMBDA = 100.0
#: Alpha method of :func:`vecmatte.estimate_alpha`.
METHOD = "cf"
