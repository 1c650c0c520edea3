# A stand-in for torch, for `cli/tests/cli.rs`: numpy-backed tensors on a
# pretend CPU device, enforcing torch.gradient's documented argument rules
# (spacing: one scalar, or one scalar or 1-D tensor per differentiated
# dimension), so that the bench's torch plumbing runs without torch. Not
# torch's numerics: a run with real torch checks those against the reference.
import numpy

from . import cuda

__version__ = "0.0-fake"


class device:
    def __init__(self, kind):
        self.type = kind

    def __str__(self):
        return self.type


class Tensor:
    def __init__(self, a):
        self.a = numpy.asarray(a)
        self.dtype = self.a.dtype

    def to(self, dev, dtype=None):
        return Tensor(self.a if dtype is None else self.a.astype(dtype))

    def cpu(self):
        return self

    def numpy(self):
        return self.a


def from_numpy(a):
    return Tensor(a)


def gradient(t, *, spacing=1, dim=None, edge_order=1):
    dims = tuple(range(t.a.ndim)) if dim is None else tuple(dim)
    if isinstance(spacing, (int, float)):
        varargs = [spacing]
    else:
        if len(spacing) != len(dims):
            raise RuntimeError("torch.gradient expected spacing to be unspecified, a scalar or a list of length equal to 'self.dim()'")
        varargs = [s.a if isinstance(s, Tensor) else s for s in spacing]
    out = numpy.gradient(t.a, *varargs, axis=dims, edge_order=edge_order)
    if not isinstance(out, (list, tuple)):
        out = [out]
    return tuple(Tensor(o) for o in out)
