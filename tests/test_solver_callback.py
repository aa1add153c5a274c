"""A callback that conjugate gradient cannot call is refused up front, naming ``callback``.

A callback of one argument failed with Python's "<lambda>() takes 1 positional argument but
2 were given", from inside CG after the system was built, not naming ``callback``.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import vecmatte


@pytest.fixture(scope="module")
def scene() -> vecmatte.Scene:
    return vecmatte.make_scene((24, 28), seed=1)


@pytest.mark.parametrize("solve", [vecmatte.estimate_alpha, vecmatte.solve_alpha])
@pytest.mark.parametrize(
    "callback",
    [
        lambda residual: None,
        lambda: None,
        lambda iteration, residual, extra: None,
        lambda iteration, residual, *, every: None,
    ],
    ids=["one", "none", "three", "required-keyword"],
)
def test_a_callback_of_other_arguments_is_refused_in_one_line(scene, solve, callback):
    with pytest.raises(TypeError) as caught:
        solve(scene.image, scene.trimap, callback=callback)
    message = str(caught.value)
    assert message.startswith(
        "callback must take two arguments, callback(iteration, relative_residual); <lambda> takes ("
    )
    assert "\n" not in message


def _two(iteration, residual, seen):
    seen.append((iteration, residual))


class _Counter:
    def __init__(self):
        self.calls = 0

    def __call__(self, iteration, residual):
        self.calls += 1


@pytest.mark.parametrize(
    "make",
    [
        lambda seen: lambda iteration, residual: seen.append(iteration),
        lambda seen: lambda *args: seen.append(args[0]),
        lambda seen: lambda iteration, residual, extra=None: seen.append(iteration),
        lambda seen: functools.partial(_two, seen=seen),
    ],
    ids=["two", "star-args", "optional-third", "partial"],
)
def test_callbacks_that_take_two_arguments_are_called(scene, make):
    seen = []
    result = vecmatte.solve_alpha(scene.image, scene.trimap, callback=make(seen))
    assert len(seen) == result.iterations > 0


def test_a_callable_object_and_a_builtin_are_taken(scene):
    counter = _Counter()
    result = vecmatte.solve_alpha(scene.image, scene.trimap, callback=counter)
    assert counter.calls == result.iterations > 0
    # max has no signature to read (inspect.signature raises): it is called as it is.
    plain = vecmatte.estimate_alpha(scene.image, scene.trimap)
    np.testing.assert_array_equal(
        vecmatte.estimate_alpha(scene.image, scene.trimap, callback=max), plain
    )


def test_a_callback_that_is_not_callable_is_still_refused_as_before(scene):
    with pytest.raises(TypeError, match=r"callback must be a function .* or None, got 3$"):
        vecmatte.estimate_alpha(scene.image, scene.trimap, callback=3)
