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


def incomplete_cholesky(matrix):
    """IC(0): lower-triangular L with the pattern of tril(A) and (L L^T)_ij = A_ij on it.

    Plain row-by-row loop (dense storage), for small test matrices only.
    """
    a = np.asarray(matrix.toarray() if scipy.sparse.issparse(matrix) else matrix, dtype=float)
    n = a.shape[0]
    pattern = np.tril(a != 0)
    lower = np.zeros_like(a)
    for i in range(n):
        for j in range(i + 1):
            if not pattern[i, j]:
                continue
            s = a[i, j] - lower[i, :j] @ lower[j, :j]
            if i == j:
                lower[i, i] = np.sqrt(s)
            else:
                lower[i, j] = s / lower[j, j]
    return lower


def loop_foreground_cf(image, alpha):
    """Levin et al.'s foreground/background least squares (solveFB.m weights), pixel by pixel.

    Assembles the normal equations over all ``2 h w`` unknowns of each channel with plain
    loops (no active-set reduction) and solves them directly; returns unclipped ``(F, B)``.
    """
    import scipy.sparse.linalg

    h, w = alpha.shape
    n = h * w
    margin, pin, prior, prior_from, away, floor = 0.02, 100.0, 0.03, 0.7, 0.01, 0.003
    matrix = scipy.sparse.lil_matrix((2 * n, 2 * n))
    rhs = np.zeros((2 * n, 3))
    for y in range(h):
        for x in range(w):
            i = y * w + x
            a = alpha[y, x]
            wf = (pin if a > 1 - margin else 0) + (prior * a if a > prior_from else 0)
            wf += away if a < margin else 0
            wb = (pin if a < margin else 0) + (prior * (1 - a) if a < 1 - prior_from else 0)
            wb += away if a > 1 - margin else 0
            matrix[i, i] += wf**2 + a * a
            matrix[n + i, n + i] += wb**2 + (1 - a) ** 2
            matrix[i, n + i] += a * (1 - a)
            matrix[n + i, i] += a * (1 - a)
            rhs[i] = (wf**2 * (a > margin) + a) * image[y, x]
            rhs[n + i] = (wb**2 * (a < 1 - margin) + 1 - a) * image[y, x]
            for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
                yq, xq = y + dy, x + dx
                if not (0 <= yq < h and 0 <= xq < w):
                    continue
                b = alpha[yq, xq]
                if not (margin <= a <= 1 - margin or margin <= b <= 1 - margin):
                    continue
                j = yq * w + xq
                root = np.sqrt(abs(a - b))
                middle = (a + b) / 2
                weights = ((0, root + floor * (1 - middle)), (n, root + floor * middle))
                for offset, weight in weights:
                    s = weight**2
                    matrix[offset + i, offset + i] += s
                    matrix[offset + j, offset + j] += s
                    matrix[offset + i, offset + j] -= s
                    matrix[offset + j, offset + i] -= s
    solution = scipy.sparse.linalg.spsolve(matrix.tocsc(), rhs)
    return solution[:n].reshape(h, w, 3), solution[n:].reshape(h, w, 3)


def loop_foreground_ml(
    image,
    alpha,
    *,
    regularization=5e-3,
    gradient_weight=0.1,
    small_size=32,
    small_iterations=10,
    big_iterations=2,
):
    """Germer et al.'s multi-level foreground estimation with loops, in red-black order.

    Within one colour of the checkerboard no pixel neighbours another, so updating them one
    by one in place equals updating them all at once.
    """
    h0, w0 = alpha.shape
    fg_mean = image[alpha > 0.9].mean(axis=0) if (alpha > 0.9).any() else image.mean((0, 1))
    bg_mean = image[alpha < 0.1].mean(axis=0) if (alpha < 0.1).any() else image.mean((0, 1))
    foreground = np.ones((1, 1, 3)) * fg_mean
    background = np.ones((1, 1, 3)) * bg_mean
    levels = max(1, int(np.ceil(np.log2(max(h0, w0)))))

    def resize(array, h, w):
        out = np.empty((h, w, *array.shape[2:]))
        for y in range(h):
            for x in range(w):
                ys = min(y * array.shape[0] // h, array.shape[0] - 1)
                xs = min(x * array.shape[1] // w, array.shape[1] - 1)
                out[y, x] = array[ys, xs]
        return out

    for level in range(levels + 1):
        h, w = round(h0 ** (level / levels)), round(w0 ** (level / levels))
        img, alp = resize(image, h, w), resize(alpha, h, w)
        foreground, background = resize(foreground, h, w), resize(background, h, w)
        iterations = small_iterations if h <= small_size and w <= small_size else big_iterations
        for _ in range(iterations):
            for parity in (0, 1):
                for y in range(h):
                    for x in range(w):
                        if (y + x) % 2 != parity:
                            continue
                        a0 = alp[y, x]
                        a1 = 1 - a0
                        m00, m01, m11 = a0 * a0, a0 * a1, a1 * a1
                        rf, rb = a0 * img[y, x], a1 * img[y, x]
                        for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                            yn = min(max(y + dy, 0), h - 1)
                            xn = min(max(x + dx, 0), w - 1)
                            weight = regularization + gradient_weight * abs(a0 - alp[yn, xn])
                            m00 += weight
                            m11 += weight
                            rf = rf + weight * foreground[yn, xn]
                            rb = rb + weight * background[yn, xn]
                        det = m00 * m11 - m01 * m01
                        foreground[y, x] = np.clip((m11 * rf - m01 * rb) / det, 0, 1)
                        background[y, x] = np.clip((m00 * rb - m01 * rf) / det, 0, 1)
    return foreground, background


def loop_box_filter(array, size):
    """Mean over a ``size`` x ``size`` window, pixel by pixel, with mirrored borders.

    Window ``[y - size // 2, y + (size - 1) // 2]`` (``cv2.blur``'s anchor); an index outside
    the image reflects about the edge pixel (``d c b | a b c d | c b a``), repeatedly.
    The window is a product of a row range and a column range, so each pixel's sum weighs
    pixel (i, j) by how often row i and column j occur among its window's mirrored rows and
    columns (counted one offset at a time): a window of 90 over a 9 x 8 image costs 72
    products instead of 8100 additions per pixel.
    """
    h, w = array.shape[:2]

    def mirror(i, n):
        if n == 1:
            return 0
        period = 2 * n - 2
        i = abs(i) % period
        return period - i if i >= n else i

    def occurrences(n):
        # table[y, i]: how often index i falls in the (mirrored) window of index y
        table = np.zeros((n, n))
        for y in range(n):
            for d in range(-(size // 2), (size - 1) // 2 + 1):
                table[y, mirror(y + d, n)] += 1
        return table

    rows, columns = occurrences(h), occurrences(w)
    out = np.zeros(array.shape)
    for y in range(h):
        for x in range(w):
            weights = rows[y][:, None] * columns[x][None, :]
            out[y, x] = np.tensordot(weights, array, axes=([0, 1], [0, 1])) / (size * size)
    return out


def loop_blur_fusion(image, alpha, sizes=(90, 6)):
    """Forte and Pitie's blur-fusion (their published two-pass code), with loop box filters.

    Returns ``(F, B)``; B is the last pass's mean background plus ``(1 + alpha)`` times the
    compositing residual (vecmatte's completion; the authors return F only).
    """
    a = alpha[:, :, None]
    foreground, background = image, image
    for index, size in enumerate(sizes):
        mean_alpha = loop_box_filter(alpha, size)[:, :, None]
        mean_f = loop_box_filter(foreground * a, size) / (mean_alpha + 1e-5)
        mean_b = loop_box_filter(background * (1 - a), size) / (1 - mean_alpha + 1e-5)
        residual = image - a * mean_f - (1 - a) * mean_b
        foreground = np.clip(mean_f + a * residual, 0, 1)
        background = mean_b
        if index == len(sizes) - 1:
            background = np.clip(mean_b + (1 + a) * residual, 0, 1)
    return foreground, background


# --- Weight-graph and window Laplacians of PyMatting's other methods (knn, rw, uniform, lbdm),
# written as plain loops over pixels and windows.


def loop_window_weights(image, radius=1, sigma=1 / 30):
    """Random-walk weights over each pixel's window, neighbours clamped to the border.

    ``sigma=None`` gives weight one to every pair (the uniform Laplacian's weights).
    """
    h, w, _ = image.shape
    weights = np.zeros((h * w, h * w))
    for y in range(h):
        for x in range(w):
            for dy in range(-radius, radius + 1):
                for dx in range(-radius, radius + 1):
                    y2 = min(max(y + dy, 0), h - 1)
                    x2 = min(max(x + dx, 0), w - 1)
                    difference = image[y, x] - image[y2, x2]
                    value = 1.0 if sigma is None else np.exp(-difference @ difference / sigma**2)
                    weights[y * w + x, y2 * w + x2] += value
    return weights


def loop_knn_weights(image, n_neighbors=(20, 10), distance_weights=(2.0, 0.1), kernel="binary"):
    """KNN weights K + K^T by brute force: every pixel's distances to all pixels, sorted."""
    h, w, _ = image.shape
    n = h * w
    weights = np.zeros((n, n))
    for k, distance_weight in zip(n_neighbors, distance_weights, strict=True):
        features = np.zeros((n, 5), dtype=np.float32)
        for y in range(h):
            for x in range(w):
                i = y * w + x
                features[i, :3] = image[y, x]
                features[i, 3] = distance_weight * (x / (w - 1) if w > 1 else 0.0)
                features[i, 4] = distance_weight * (y / (h - 1) if h > 1 else 0.0)
        for i in range(n):
            distances = [float(np.sum((features[i] - features[j]) ** 2)) for j in range(n)]
            for j in np.argsort(distances, kind="stable")[:k]:
                value = 1.0
                if kernel == "soft":
                    value = 1.0 - float(np.abs(features[i] - features[j]).sum()) / 5.0
                weights[i, j] += value
                weights[j, i] += value
    return weights


def loop_random_walk_laplacian(weights, regularization=0.0):
    """(1 + reg) I - D^-1 W, row by row."""
    n = weights.shape[0]
    laplacian = np.zeros((n, n))
    for i in range(n):
        degree = weights[i].sum()
        for j in range(n):
            laplacian[i, j] = (1.0 + regularization) * (i == j) - weights[i, j] / degree
    return laplacian


def loop_lbdm_laplacian(image, eps=1e-7, radius=1):
    """Sum over windows of (I - F)(I - F)^T with F = X (X^T X + eps I)^-1 X^T, X = [I, 1]."""
    h, w, _ = image.shape
    size = 2 * radius + 1
    n = size * size
    laplacian = np.zeros((h * w, h * w))
    for y in range(h - 2 * radius):
        for x in range(w - 2 * radius):
            design = np.ones((n, 4))
            indices = []
            for a in range(n):
                ya, xa = y + a // size, x + a % size
                design[a, :3] = image[ya, xa]
                indices.append(ya * w + xa)
            fit = design @ np.linalg.inv(design.T @ design + eps * np.eye(4)) @ design.T
            residual = np.eye(n) - fit
            block = residual @ residual.T
            for a in range(n):
                for b in range(n):
                    laplacian[indices[a], indices[b]] += block[a, b]
    return laplacian


def loop_full_weighting(shape):
    """Full-weighting restriction (h, w) -> (h // 2, w // 2), coarse pixel by coarse pixel."""
    h, w = shape
    kernel = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16.0
    restriction = np.zeros(((h // 2) * (w // 2), h * w))
    for cy in range(h // 2):
        for cx in range(w // 2):
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    y, x = 2 * cy + dy, 2 * cx + dx
                    if 0 <= y < h and 0 <= x < w:
                        restriction[cy * (w // 2) + cx, y * w + x] = kernel[dy + 1, dx + 1]
    return restriction


def loop_vcycle(matrix, shape, rhs, omega=0.8, pre=1, post=1, direct_size=64):
    """One V-cycle from zero, recursively, with dense matrices."""
    h, w = shape
    if h * w <= direct_size:
        return np.linalg.solve(matrix, rhs)
    diagonal = np.diag(matrix)
    x = np.zeros_like(rhs)
    for _ in range(pre):
        x = x + omega * (rhs - matrix @ x) / diagonal
    restriction = loop_full_weighting(shape)
    coarse = restriction @ matrix @ restriction.T
    residual = rhs - matrix @ x
    x = x + restriction.T @ loop_vcycle(
        coarse, (h // 2, w // 2), restriction @ residual, omega, pre, post, direct_size
    )
    for _ in range(post):
        x = x + omega * (rhs - matrix @ x) / diagonal
    return x
