"""Type stubs of ndgrad: numpy.gradient on any GPU (wgpu) or the CPU."""

from typing import Any, Literal, Sequence, TypedDict, Union, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

__version__: str

_Backend = Literal["auto", "gpu", "cpu", "reference"]
_Boundary = Literal["one-sided", "periodic"]

def gradient(
    f: ArrayLike,
    *varargs: ArrayLike,
    axis: Union[None, int, Sequence[int]] = None,
    edge_order: Literal[1, 2] = 1,
    backend: _Backend = "auto",
    boundary: Union[_Boundary, Sequence[_Boundary]] = "one-sided",
    period: Union[None, float, Sequence[Union[float, None]]] = None,
    accuracy: Literal[2, 4, 6] = 2,
    out: Union[None, NDArray[Any], Sequence[NDArray[Any]]] = None,
) -> Union[NDArray[Any], tuple[NDArray[Any], ...]]:
    """numpy.gradient(f, *varargs, axis=axis, edge_order=edge_order)."""

def gradient_magnitude(
    f: ArrayLike,
    *varargs: ArrayLike,
    axis: Union[None, int, Sequence[int]] = None,
    edge_order: Literal[1, 2] = 1,
    backend: _Backend = "auto",
    boundary: Union[_Boundary, Sequence[_Boundary]] = "one-sided",
    period: Union[None, float, Sequence[Union[float, None]]] = None,
    accuracy: Literal[2, 4, 6] = 2,
    out: Union[None, NDArray[Any], Sequence[NDArray[Any]]] = None,
) -> NDArray[Any]:
    """np.sqrt(sum(np.abs(g)**2 for g in np.gradient(f, ...)))."""

class _Adapter(TypedDict):
    name: str
    vendor: int
    device: int
    backend: str
    device_type: str
    driver: str
    software: bool
    f64: bool
    f16: bool

class _Info(TypedDict):
    version: str
    adapters: list[_Adapter]
    auto: _Backend
    gpu: bool

def info() -> _Info:
    """The GPU adapters and the backend backend="auto" runs on."""
