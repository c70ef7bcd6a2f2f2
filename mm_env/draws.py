"""A step's uniforms and normals: NumPy's numbers, drawn on two threads.

A MarketMaking step of ``n`` rows draws ``rng.random((n, k))`` and then
``rng.standard_normal((n, m))`` (the random contract of :mod:`mm_env.scenarios.synthetic`).
NumPy draws them on the calling thread: about 30 µs at n = 1024 on our 2-core machine, while
the multi-threaded kernel's second thread waits, and long enough for that thread to stop
spinning and go to sleep (``GOMP_SPINCOUNT``; waking it costs tens of µs, README "Speed").
:class:`UniformNormalDraws` computes the same numbers, bit for bit, inside one parallel region,
and leaves ``rng`` in the state NumPy's two calls would have left it in.

How it splits the stream of PCG64 (Gymnasium's and NumPy's default bit generator):

* ``Generator.random`` turns each 64-bit output into one double (its top 53 bits), so the
  uniforms of rows ``[s, n)`` start exactly ``k * s`` outputs into the step's stream. One thread
  draws rows ``[0, s)`` from ``rng``'s state; the other starts from that state advanced by
  ``k * s`` outputs (PCG64's jump-ahead, as ``PCG64.advance``).
* ``standard_normal`` (NumPy's ziggurat) consumes a variable number of outputs per normal, so
  the normals stay on one thread: the second one draws them after its uniforms, where the
  stream has them, and ``rng``'s state becomes its final one.

The compiled code works on the generator's state words (a view of PCG64's 128-bit state and
increment, :func:`pcg64_words`, checked against ``bit_generator.state`` once, when a generator is
first seen) and
implements the three algorithms it needs: PCG64's output (O'Neill 2014, XSL-RR 128/64),
NumPy's 53-bit double, and NumPy's 256-layer ziggurat for normals (Marsaglia & Tsang 2000, "The
Ziggurat Method for Generating Random Variables", J. Stat. Softw. 5(8); NumPy's tables, as numba
ships them in ``numba.np.random._constants``). ``tests/test_draws.py`` compares values and final
state with NumPy's own calls. Any other bit generator, a layout the check does not recognise,
numba without those tables, and a single-threaded caller get NumPy's two calls.

(numba's own ``np.random.Generator`` support draws the same numbers, but passing a generator to
a compiled function cost 11.7 µs per call here, more than the draws it would save.)
"""

from __future__ import annotations

import ctypes
import math
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic
from numpy.typing import NDArray

from mm_env.core import step_kernel

try:  # NumPy's ziggurat tables for the normal, as numba ships them (module docstring)
    from numba.np.random._constants import (
        fi_double,
        ki_double,
        wi_double,
        ziggurat_nor_inv_r,
        ziggurat_nor_r,
    )

    HAVE_TABLES = True
except ImportError:  # pragma: no cover - a numba without them: NumPy's calls instead
    HAVE_TABLES = False
    fi_double = ki_double = wi_double = np.zeros(256)  # type: ignore[assignment]
    ziggurat_nor_inv_r = ziggurat_nor_r = 0.0

#: a normal costs about this many uniforms; the split row balances the two threads' work with
#: it. It changes the speed only, never the numbers.
NORMAL_COST = 2.0

#: PCG64's 128-bit LCG multiplier (O'Neill 2014, the multiplier NumPy's PCG64 uses)
PCG_MULTIPLIER = (2549297995355413924 << 64) + 4865540595714422341
_MULT_HI = np.uint64(PCG_MULTIPLIER >> 64)
_MULT_LO = np.uint64(PCG_MULTIPLIER & ((1 << 64) - 1))
_ZERO = np.uint64(0)
_ONE = np.uint64(1)
_DOUBLE_UNIT = 1.0 / 9007199254740992.0  # 2**-53


def pcg64_words(bits: Any) -> NDArray[np.uint64] | None:
    """The live state of a PCG64 as 4 uint64 words (state low, high, increment low, high):
    a view of its memory, or ``None`` if ``bits`` is not a PCG64 or its memory does not hold
    exactly ``bits.state``'s numbers there. The view does not keep ``bits`` alive."""
    if type(bits) is not np.random.PCG64:
        return None
    # NumPy's pcg64_state starts with a pointer to the 128-bit (state, increment) pair
    pair = ctypes.c_void_p.from_address(bits.ctypes.state_address).value
    if not pair:
        return None
    words = np.ctypeslib.as_array((ctypes.c_uint64 * 4).from_address(pair))
    s = bits.state["state"]
    low = (1 << 64) - 1
    expected = [s["state"] & low, s["state"] >> 64, s["inc"] & low, s["inc"] >> 64]
    return words if words.tolist() == expected else None


def _u128_op(op: str) -> Any:
    """An intrinsic for (a op b) mod 2^128 on (high, low) uint64 words, via LLVM's i128."""

    @intrinsic  # type: ignore[misc]
    def u128(typingctx: Any, ah: Any, al: Any, bh: Any, bl: Any) -> Any:
        u64 = types.uint64
        if (ah, al, bh, bl) != (u64, u64, u64, u64):
            return None
        sig = types.UniTuple(u64, 2)(u64, u64, u64, u64)

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            i128, i64 = ir.IntType(128), ir.IntType(64)
            sixty_four = ir.Constant(i128, 64)

            def join(hi: Any, lo: Any) -> Any:
                return builder.or_(
                    builder.shl(builder.zext(hi, i128), sixty_four), builder.zext(lo, i128)
                )

            a, b = join(args[0], args[1]), join(args[2], args[3])
            r = builder.mul(a, b) if op == "mul" else builder.add(a, b)
            hi = builder.trunc(builder.lshr(r, sixty_four), i64)
            return context.make_tuple(builder, signature.return_type, (hi, builder.trunc(r, i64)))

        return sig, codegen

    return u128


_mul128 = _u128_op("mul")
_add128 = _u128_op("add")


@njit(inline="always")  # type: ignore[misc]
def _next64(sh: Any, sl: Any, ih: Any, il: Any) -> tuple[Any, Any, Any]:
    """PCG64's next output: the LCG steps (state * multiplier + increment), then XSL-RR folds
    the new state's halves (high xor low) and rotates right by its top 6 bits."""
    ph, pl = _mul128(sh, sl, _MULT_HI, _MULT_LO)
    sh, sl = _add128(ph, pl, ih, il)
    x = sh ^ sl
    rot = sh >> np.uint64(58)
    return sh, sl, (x >> rot) | (x << ((np.uint64(64) - rot) & np.uint64(63)))


@njit(inline="always")  # type: ignore[misc]
def _next_double(sh: Any, sl: Any, ih: Any, il: Any) -> tuple[Any, Any, float]:
    sh, sl, r = _next64(sh, sl, ih, il)
    return sh, sl, float(r >> np.uint64(11)) * _DOUBLE_UNIT


@njit(inline="always")  # type: ignore[misc]
def _next_normal(sh: Any, sl: Any, ih: Any, il: Any) -> tuple[Any, Any, float]:
    """NumPy's ``standard_normal``: one output gives the layer (8 bits), the sign (1) and a
    52-bit abscissa; inside the layer's rectangle (about 99% of draws) that is the normal;
    otherwise the base layer samples the tail beyond r, and the others test the wedge."""
    while True:
        sh, sl, r = _next64(sh, sl, ih, il)
        idx = r & np.uint64(0xFF)
        r = r >> np.uint64(8)
        rabs = (r >> _ONE) & np.uint64(0x000FFFFFFFFFFFFF)
        x = float(rabs) * wi_double[idx]
        if r & _ONE:
            x = -x
        if rabs < ki_double[idx]:
            return sh, sl, x
        if idx == _ZERO:
            while True:
                sh, sl, d1 = _next_double(sh, sl, ih, il)
                sh, sl, d2 = _next_double(sh, sl, ih, il)
                xx = -ziggurat_nor_inv_r * math.log1p(-d1)
                yy = -math.log1p(-d2)
                if yy + yy > xx * xx:
                    t = ziggurat_nor_r + xx
                    return sh, sl, (-t if (rabs >> np.uint64(8)) & _ONE else t)
        else:
            sh, sl, d = _next_double(sh, sl, ih, il)
            if (fi_double[idx - _ONE] - fi_double[idx]) * d + fi_double[idx] < math.exp(
                -0.5 * x * x
            ):
                return sh, sl, x


@njit(inline="always")  # type: ignore[misc]
def _advance(sh: Any, sl: Any, ih: Any, il: Any, delta: Any) -> tuple[Any, Any]:
    """The LCG state after ``delta`` more steps, in O(log delta) by squaring (Brown 1994,
    "Random number generation with arbitrary strides", Trans. Am. Nucl. Soc. 71; the jump-ahead
    of O'Neill's PCG): s -> a s + c composed with itself is s -> a^2 s + (a + 1) c."""
    acc_mh, acc_ml, acc_ch, acc_cl = _ZERO, _ONE, _ZERO, _ZERO
    mh, ml, ch, cl = _MULT_HI, _MULT_LO, ih, il
    while delta > _ZERO:
        if delta & _ONE:
            acc_mh, acc_ml = _mul128(acc_mh, acc_ml, mh, ml)
            acc_ch, acc_cl = _mul128(acc_ch, acc_cl, mh, ml)
            acc_ch, acc_cl = _add128(acc_ch, acc_cl, ch, cl)
        m1h, m1l = _add128(mh, ml, _ZERO, _ONE)
        ch, cl = _mul128(m1h, m1l, ch, cl)
        mh, ml = _mul128(mh, ml, mh, ml)
        delta = delta >> _ONE
    sh, sl = _mul128(acc_mh, acc_ml, sh, sl)
    return _add128(sh, sl, acc_ch, acc_cl)


@step_kernel(parallel=True)
def _two_thread_draws(
    words: NDArray[np.uint64], u: NDArray[np.float64], z: NDArray[np.float64], split: int
) -> None:
    """Uniform rows [0, split) from the state in ``words``; rows [split, n) and then every
    normal from that state advanced to row ``split``, whose final state goes to ``words``."""
    n, k = u.shape
    ih, il = words[3], words[2]
    sh0, sl0 = words[1], words[0]
    sh1, sl1 = _advance(sh0, sl0, ih, il, np.uint64(k * split))
    for part in prange(2):
        if part == 0:
            sh, sl = sh0, sl0
            for i in range(split):
                for j in range(k):
                    sh, sl, u[i, j] = _next_double(sh, sl, ih, il)
        else:
            sh, sl = sh1, sl1
            for i in range(split, n):
                for j in range(k):
                    sh, sl, u[i, j] = _next_double(sh, sl, ih, il)
            for i in range(n):
                for j in range(z.shape[1]):
                    sh, sl, z[i, j] = _next_normal(sh, sl, ih, il)
            words[1], words[0] = sh, sl


class UniformNormalDraws:
    """``rng.random((n, k))`` then ``rng.standard_normal((n, m))``, on two threads when
    ``threads`` (the caller's kernel is multi-threaded) and ``rng`` is a PCG64 generator.

    :meth:`draw` returns the two arrays; on two threads they are buffers of this object,
    overwritten by the next call (the kernels read them within the step).
    """

    def __init__(self, n: int, k: int, m: int, threads: bool) -> None:
        self.shape_u = (n, k)
        self.shape_z = (n, m)
        self.threads = threads and HAVE_TABLES
        self.u = np.empty(self.shape_u)
        self.z = np.empty(self.shape_z)
        # rows [split, n) of the uniforms go to the thread that also draws the normals
        self.split = min(n, round(n * (k + NORMAL_COST * m) / (2 * k))) if k else n
        self._rng: np.random.Generator | None = None  # the generator _words views
        self._words: NDArray[np.uint64] | None = None

    def __getstate__(self) -> dict[str, Any]:
        # a copy (deepcopy, pickle) must not keep the view: it would be a plain array then,
        # cut off from the copied generator's memory
        return {**self.__dict__, "_rng": None, "_words": None}

    def draw(self, rng: np.random.Generator) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        if self.threads and rng is not self._rng:  # a new generator (a reset with a seed)
            self._rng, self._words = rng, pcg64_words(getattr(rng, "bit_generator", None))
        if not self.threads or self._words is None:
            return rng.random(self.shape_u), rng.standard_normal(self.shape_z)
        _two_thread_draws(self._words, self.u, self.z, self.split)
        return self.u, self.z
