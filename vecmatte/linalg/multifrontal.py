"""Sparse Cholesky factorisation by nested dissection of the pixel grid, on dense BLAS fronts.

The elimination order is the nested dissection of :mod:`vecmatte.linalg.dissection`: the
pixels of each tree node are eliminated after both children's, which keeps the fill inside
them and the node's cut.

The numerical factorisation is *multifrontal* (Duff and Reid 1983): each node of the
dissection tree gathers its pixels, the pixels of later cuts they touch, its matrix entries
and its children's Schur complements into one dense frontal matrix, and factors it with
LAPACK/BLAS (``potrf``, ``trtri`` + ``trmm``, ``syrk``), passing its own Schur complement up.
The loop runs over tree nodes (a few per hundred unknowns), never over pixels. Everything a
node needs that is not numerical (its boundary, where its matrix entries go, where its
children's rows land in its front) is found before the loop, for all nodes at once where it
can be. Profile on GT01's scribbles (385k unknowns, 5426 nodes once the dissection merges
small fronts, 1.1e10 flops, 59M factor entries; CPU time, one thread): the dense kernels
take about half of the factor's time (potrf + trtri + trmm three quarters of it, syrk the
rest), the extend-add a fifth, the symbolic passes a fifth, making the fronts and the loop
itself a tenth. Kernels and additions are kept bit for bit: conjugate gradient's alpha
moves by ~1e-5 when the factor's rounding changes (measured with trsm in place of trtri).
"""

from __future__ import annotations

import numpy as np

from vecmatte.linalg._multifrontal_symbolic import (
    ExtendAddPlan,
    FrontRows,
    children_of,
    front_boundaries,
    upper_in_order,
)
from vecmatte.linalg._panel import PanelFactor, factor_dtype
from vecmatte.linalg.dissection import Dissection, dissection_order

__all__ = ["MultifrontalCholesky", "dissection_order", "multifrontal_cholesky"]


class MultifrontalCholesky(PanelFactor):
    """``P A P^T = L L^T`` in a nested-dissection order, one dense panel per tree node.

    A :class:`~vecmatte.linalg._panel.PanelFactor` whose ``boundaries[k]`` are the later
    positions node ``k``'s front reaches (index arrays, increasing).

    Attributes
    ----------
    order : ndarray of intp
        Row ``i`` of ``P A P^T`` is row ``order[i]`` of ``A``.
    starts : ndarray of intp
        Node ``k`` holds the columns ``starts[k]:starts[k+1]`` of ``L``.
    boundaries : list of ndarray
        The later positions each node's front reaches.
    panels : list of ndarray
        Each node's dense block of ``L``.
    """


def multifrontal_cholesky(matrix, dissection: Dissection, dtype=np.float32, *, threads: int = 1):
    """Factor a symmetric positive definite matrix in a nested-dissection order.

    Parameters
    ----------
    matrix : sparse matrix, shape (n, n)
        Symmetric positive definite, both triangles stored.
    dissection : Dissection
        From :func:`dissection_order` on the points the rows stand for.
    dtype : {numpy.float32, numpy.float64}, optional
        Precision of the factor (single precision halves its memory; conjugate gradient in
        double precision polishes the solution).
    threads : int, optional
        With 2, the two largest independent subtrees of the dissection tree are factored in
        two Python threads (SciPy's BLAS and LAPACK wrappers release the GIL while they
        compute, so one thread's dense kernels overlap the other's Python work); the nodes
        above them follow in the calling thread. The factor is the same bit for bit (every
        front gets the same operations in the same order). 1 (the default) factors in the
        calling thread only.

    Returns
    -------
    MultifrontalCholesky

    Raises
    ------
    numpy.linalg.LinAlgError
        If a front is not positive definite (in the chosen precision).
    """
    from scipy.linalg.blas import get_blas_funcs

    dtype = factor_dtype(dtype)
    order, starts, parent = dissection.order, dissection.starts, dissection.parent
    # The upper triangle in the elimination order: each node reads its entries as one slice.
    upper = upper_in_order(matrix, order, dtype)
    (syrk,) = get_blas_funcs(("syrk",), dtype=dtype)
    children = children_of(parent)
    ranks: list = []
    boundaries = front_boundaries(upper, starts, children, ranks)
    fronts = FrontRows(starts, boundaries)
    places = fronts.entry_places(upper, ranks)
    del ranks
    plan = ExtendAddPlan(fronts, parent, boundaries)
    del fronts
    # Python ints: per-node NumPy scalars were a large part of the loop's time.
    parents, sizes = parent.tolist(), np.diff(starts).tolist()
    # The entries' places and values in pieces of consecutive nodes, each freed once the
    # loop has passed its nodes: the factor's memory peaks at the end of the loop, when
    # the panels are all made and every entry is placed (the whole arrays, kept to the
    # end, were a sixth of the peak on GT01's scribbles). Platform-size places: NumPy
    # would convert each node's 32-bit slice before its scatter (measured 3.9 us against
    # 1.5 us per leaf front). The matrix's columns and row pointers are not needed.
    pieces = _EntryPieces(upper, starts, places, threads == 1)
    del upper, places

    def front(k: int):
        """Node ``k``'s front, zeros: ``(panel, boundary block or None)``.

        The panel holds the own columns on all rows (the factor keeps it), the boundary
        block the Schur complement passed up. The block of own rows and boundary columns
        is the front's upper triangle, never read: not storing it saves its zeros, and
        factoring the panel and passing the block up need no copies. One array per panel
        (not views of one large array): freed fronts' memory is reused instead of
        page-faulting in a fresh mapping, which cost more system time than it saved.
        """
        size, width = sizes[k], len(boundaries[k])
        panel = np.zeros((size + width, size), dtype=dtype)
        block = np.zeros((width, width), dtype=dtype) if width and parents[k] >= 0 else None
        return panel, block

    entries = pieces.entries

    def add_update(child: int, block, opened: dict, extend_add) -> None:
        """Add a child's Schur complement into its parent's front (opened if need be)."""
        up = parents[child]
        into = opened.get(up)
        if into is not None:
            extend_add(child, block, *into, sizes[up], False)
            return
        # The parent's first child: its update is copied into the zero front, and the
        # matrix entries are added after it, the same sums bit for bit (addition
        # commutes) for fewer copies than adding the update to the entries.
        into = opened[up] = front(up)
        extend_add(child, block, *into, sizes[up], True)
        where, what = entries(up)
        into[0].reshape(-1)[where] += what

    panels: list = [None] * len(parents)

    def factor_nodes(nodes: range, opened: dict, deferred: list | None = None) -> None:
        """Factor ``nodes`` in order; updates for parents beyond them go to ``deferred``."""
        # Per thread: the kernels hold a work buffer.
        factor = _PanelKernels(dtype, min(max(sizes, default=0), _SCRATCH_SIZE))
        extend_add = _ExtendAdd(plan)
        for k in nodes:
            up = parents[k]
            if k in opened:
                panel, block = opened.pop(k)
            else:  # no children: the matrix entries into zeros
                panel, block = front(k)
                where, what = entries(k)
                panel.reshape(-1)[where] = what
            size = sizes[k]
            if size:
                lower = factor(panel, size, k)
            if block is not None:
                # Schur complement on the boundary, lower triangle only (every front is
                # read through its lower triangle): BLAS syrk on the transposed (Fortran)
                # views, in place, half the flops of the full product. Positional
                # arguments (alpha, a, beta, c, trans, lower, overwrite_c): f2py parses
                # keywords at about 0.7 us a call.
                if size:
                    syrk(-1.0, lower, 1.0, block.T, 1, 0, 1)
                if deferred is not None and up >= nodes.stop:
                    deferred.append((k, block))
                else:
                    # Added into the parent's front at once, while the block is still in
                    # cache (the parent's front stays open until the parent's turn): 5%
                    # less time than keeping every update until its parent.
                    add_update(k, block, opened, extend_add)
            panels[k] = panel
            if k == pieces.last:
                pieces.passed(k)

    split = _two_subtrees(children, parents, sizes, plan) if threads > 1 else None
    if split is None:
        factor_nodes(range(len(parents)), {})
    else:
        first, second, rest = split
        deferred: list = [[], []]
        _in_two_threads(
            lambda: factor_nodes(first, {}, deferred[0]),
            lambda: factor_nodes(second, {}, deferred[1]),
        )
        # The subtrees' updates in node order: each parent gets its children's updates in
        # the order of the one-thread loop.
        opened: dict = {}
        extend_add = _ExtendAdd(plan)
        for k, block in deferred[0] + deferred[1]:
            add_update(k, block, opened, extend_add)
        del deferred
        factor_nodes(rest, opened)
    return MultifrontalCholesky(order, starts, boundaries, panels)


class _EntryPieces:
    """Each node's matrix entries (flat places in its panel, values), in freeable pieces.

    A piece holds the entries of consecutive nodes, about ``1 / _PIECES`` of all; once the
    loop has passed its last node (the entries of a parent are added when its first child
    is done, before its own turn), :meth:`passed` frees it. With ``free`` False (nodes
    factored out of order, in two threads) the pieces are kept to the end.
    """

    def __init__(self, upper, starts: np.ndarray, places: np.ndarray, free: bool):
        n_nodes = len(starts) - 1
        first = upper.indptr[starts]  # each node's first entry, and the end
        total = int(first[-1])
        # The first node of each piece: the node holding entry total * i / _PIECES.
        cuts = np.searchsorted(first, np.linspace(0, total, _PIECES + 1)[1:-1], side="right") - 1
        cuts = np.unique(np.concatenate([[0], cuts, [n_nodes]]))
        self.piece = np.repeat(np.arange(len(cuts) - 1), np.diff(cuts)).tolist()
        self.first = first.tolist()
        self.base = first[cuts[:-1]].tolist()
        self.ends = (cuts[1:] - 1).tolist()  # each piece's last node
        self.free = free
        self.places, self.values = [], []
        for e0, e1 in zip(self.base, first[cuts[1:]].tolist(), strict=True):
            self.places.append(places[e0:e1].astype(np.intp))
            self.values.append(upper.values[e0:e1].copy())
        self.current = 0
        self.last = self.ends[0] if free and self.ends else -1

    def entries(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Node ``k``'s matrix entries: their flat places in its panel, their values."""
        p = self.piece[k]
        base = self.base[p]
        e0, e1 = self.first[k] - base, self.first[k + 1] - base
        return self.places[p][e0:e1], self.values[p][e0:e1]

    def passed(self, k: int) -> None:
        """The loop is done with node ``k``, the last of the current piece: free it."""
        p = self.current
        self.places[p] = self.values[p] = None
        self.current = p + 1
        self.last = self.ends[p + 1] if p + 1 < len(self.ends) else -1


# Pieces of the entries (each freed once the loop has passed it): more pieces free more
# memory sooner, for a few NumPy calls each.
_PIECES = 16


# Work of a node in flops-equivalents: its dense kernels plus a fixed cost for its
# Python and NumPy calls (about 40 us per node, 2e10 flops/s).
_NODE_FLOPS = 8e5


def _two_subtrees(children, parents, sizes, plan) -> tuple[range, range, range] | None:
    """Two independent node ranges of about equal work, and the nodes above them.

    ``(first, second, rest)``: whole subtrees, consecutive in the postorder. The split is
    made below the top-most node with two or more children (the tree's roots count as
    children of one virtual root); ``None`` if the smaller part would have less than a
    quarter of the work.
    """
    n = len(parents)
    widths = np.diff(np.asarray(plan.offsets))
    size = np.asarray(sizes, dtype=float)
    width = np.zeros(n)
    width[: len(widths)] = widths
    work = size**3 / 3 + size**2 * width + size * width**2 + _NODE_FLOPS
    done = np.concatenate([[0.0], np.cumsum(work)])
    tops = [k for k, up in enumerate(parents) if up < 0]
    while len(tops) == 1 and len(children[tops[0]]) > 0:
        tops = children[tops[0]]
    if len(tops) < 2:
        return None
    # Subtrees of consecutive tops are consecutive in the postorder, from node 0.
    ends = np.array(tops) + 1
    total = done[ends[-1]]
    cut = int(np.argmin(np.abs(done[ends[:-1]] - total / 2)))
    middle = int(ends[cut])
    if min(done[middle], total - done[middle]) < 0.25 * total:
        return None
    return range(middle), range(middle, int(ends[-1])), range(int(ends[-1]), n)


def _in_two_threads(first, second) -> None:
    """Run ``first`` in a new thread and ``second`` in this one; re-raise their errors."""
    import threading

    errors: list = []

    def run():
        try:
            first()
        except BaseException as error:  # re-raised in the calling thread
            errors.append(error)

    thread = threading.Thread(target=run, name="multifrontal-subtree")
    thread.start()
    try:
        second()
    finally:
        thread.join()
    if errors:
        raise errors[0]


class _ExtendAdd:
    """Add a child's Schur complement into its parent's front, rectangle by rectangle.

    The child's boundary rows land in the parent's front in a few runs of consecutive rows
    (:class:`~vecmatte.linalg._multifrontal_symbolic.ExtendAddPlan`), so its update's lower
    triangle is a few rectangles (a row run by a column run) of the front. Into a front
    still zero (opened by this child, its matrix entries added after) the rectangles are
    copied. Otherwise each rectangle of the front is copied into a work array laid out as
    the update, the update is added to it in one contiguous addition, and the rectangles
    are copied back: NumPy adds two strided rectangles at about 1.6 us a call (its
    iterator buffers them) but copies one at about 0.3 us. The sums are the additions of
    one ``+=`` per rectangle, bit for bit.
    """

    def __init__(self, plan):
        self.plan = plan

    def __call__(self, child, update, panel, block, size: int, fresh: bool) -> None:
        plan = self.plan
        if not plan.by_slices[child]:
            plan.add(child, update, panel, block, size)
            return
        width = len(update)
        r0, r1 = plan.run_ptr[child], plan.run_ptr[child + 1]
        edges = plan.run_edge[r0:r1]
        edges.append(width)
        places = plan.run_at[r0:r1]
        runs = r1 - r0
        rectangles = []
        for j in range(runs):
            b0, b1, q = edges[j], edges[j + 1], places[j]
            # Rows at or below a boundary column are boundary rows: the block.
            target, shift = (block, size) if q >= size else (panel, 0)
            q -= shift
            for i in range(j, runs):
                p, a0, a1 = places[i] - shift, edges[i], edges[i + 1]
                rectangles.append((target[p : p + a1 - a0, q : q + b1 - b0], a0, a1, b0, b1))
        if fresh:
            for view, a0, a1, b0, b1 in rectangles:
                view[...] = update[a0:a1, b0:b1]
            return
        # Zeros: the work array's parts outside the rectangles get the update added too
        # (one addition for all), and must stay finite.
        work = np.zeros_like(update)
        for view, a0, a1, b0, b1 in rectangles:
            work[a0:a1, b0:b1] = view
        np.add(work, update, out=work)
        for view, a0, a1, b0, b1 in rectangles:
            view[...] = work[a0:a1, b0:b1]


# Nodes up to this size get their inverse in a reused buffer (1 MiB in float32); larger ones
# (a few, near the root) in an array of their own.
_SCRATCH_SIZE = 512


class _PanelKernels:
    """Factor a C-ordered panel in place: ``L11`` by Cholesky, then ``L21 = A21 L11^-T``.

    As :func:`~vecmatte.linalg._panel.factor_panel`, but ``L21`` comes from the explicit
    inverse of ``L11`` (LAPACK ``trtri``) and a triangular product (BLAS ``trmm``): OpenBLAS's
    ``trsm`` is slow on the small, wide panels of a nested dissection (measured 37 us against
    20 us for ``trtri`` + ``trmm`` on a 40-column panel with 200 boundary rows). The inverse
    is less accurate than a triangular solve by up to ``cond(L11)``; conjugate gradient,
    which this factor preconditions, removes the difference (same iteration counts measured).
    """

    def __init__(self, dtype, largest: int = 0):
        from scipy.linalg.blas import get_blas_funcs
        from scipy.linalg.lapack import get_lapack_funcs

        (self.trmm,) = get_blas_funcs(("trmm",), dtype=dtype)
        self.potrf, self.trtri = get_lapack_funcs(("potrf", "trtri"), dtype=dtype)
        # The inverse is made in place in a copy of L11^T in this buffer, instead of an array
        # f2py would allocate for each node.
        self.scratch = np.empty(largest * largest, dtype=dtype)

    def __call__(self, panel: np.ndarray, size: int, node: int) -> np.ndarray | None:
        """Factor ``panel``; return ``L21^T`` (a Fortran-ordered view), None without rows."""
        # The diagonal block of a C-ordered panel is, seen transposed, the Fortran-ordered
        # upper triangle U = L11^T; the boundary rows, transposed, are A21^T (Fortran).
        # Arguments are positional (f2py parses keywords at about 0.7 us a call):
        # potrf(a, lower, clean, overwrite_a), trtri(c, lower), trmm(alpha, a, b, side,
        # lower, trans_a, diag, overwrite_b).
        diagonal = panel[:size].T
        info = self.potrf(diagonal, 0, 0, 1)[1]
        if info != 0:
            raise np.linalg.LinAlgError(
                f"multifrontal Cholesky: front {node} is not positive definite (LAPACK info {info})"
            )
        if panel.shape[0] == size:
            return None
        # L21^T = L11^-1 A21^T = U^-T A21^T.
        lower = panel[size:].T
        if size * size <= len(self.scratch):
            inverse = self.scratch[: size * size].reshape(size, size).T
            inverse[...] = diagonal
            self.trtri(inverse, 0, 0, 1)
        else:
            inverse = self.trtri(diagonal, 0)[0]
        self.trmm(1.0, inverse, lower, 0, 0, 1, 0, 1)
        return lower
