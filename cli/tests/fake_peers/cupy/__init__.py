# A stand-in for cupy, for `cli/tests/cli.rs`: numpy arrays pretending to be
# on a device, so that the bench's cupy plumbing (probe, job, device-resident
# timing, readback, checking) runs without CUDA. Not cupy's semantics: a run
# on a real device checks those against the reference.
import numpy

from . import cuda

__version__ = "0.0-fake"


def asarray(a):
    return numpy.asarray(a)


def asnumpy(a):
    return numpy.asarray(a)


def gradient(f, *varargs, axis=None, edge_order=1):
    return numpy.gradient(f, *varargs, axis=axis, edge_order=edge_order)
