"""Plain reference implementations used by the tests: slow, loop-based, written from the papers."""

import numpy as np
import scipy.sparse


def naive_laplacian(image, eps=1e-7, radius=1, known=None):
    """Matting Laplacian by a loop over windows and window-pixel pairs (Levin et al. eq. 12)."""
    h, w, _ = image.shape
    size = 2 * radius + 1
    n = size * size
    rows, cols, vals = [], [], []
    for y in range(h - 2 * radius):
        for x in range(w - 2 * radius):
            if known is not None and known[y : y + size, x : x + size].all():
                continue
            patch = image[y : y + size, x : x + size].reshape(n, 3)
            mu = patch.mean(axis=0)
            cov = (patch - mu).T @ (patch - mu) / n
            inv = np.linalg.inv(cov + eps / n * np.eye(3))
            idx = [(y + a // size) * w + (x + a % size) for a in range(n)]
            for a in range(n):
                for b in range(n):
                    value = (a == b) - (1 + (patch[a] - mu) @ inv @ (patch[b] - mu)) / n
                    rows.append(idx[a])
                    cols.append(idx[b])
                    vals.append(value)
    return scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(h * w, h * w)).tocsr()


def direct_alpha(laplacian, trimap):
    """Alpha from a direct sparse solve of L_uu a_u = -L_uk a_k."""
    flat = trimap.ravel()
    fg = flat > 0.9
    bg = flat < 0.1
    unknown = ~(fg | bg)
    a_k = fg[~unknown].astype(float)
    L = laplacian.tocsr()
    L_uu = L[unknown][:, unknown]
    L_uk = L[unknown][:, ~unknown]
    alpha = fg.astype(float)
    alpha[unknown] = scipy.sparse.linalg.spsolve(L_uu.tocsc(), -L_uk @ a_k)
    return alpha.reshape(trimap.shape)
