"""Type stubs of ndgrad.dask: dask.array.gradient computed by ndgrad."""

from typing import Any, Literal, Sequence, Union

from dask.array import Array
from numpy.typing import ArrayLike

def gradient(
    x: Union[Array, ArrayLike],
    *varargs: ArrayLike,
    axis: Union[None, int, Sequence[int]] = None,
    edge_order: Literal[1, 2] = 1,
    backend: Literal["auto", "gpu", "cpu", "reference"] = "auto",
    boundary: Union[str, Sequence[str]] = "one-sided",
    period: Union[None, float, Sequence[Union[float, None]]] = None,
    accuracy: Literal[2, 4, 6] = 2,
) -> Union[Array, list[Array]]:
    """dask.array.gradient(x, *varargs, axis=axis, edge_order=edge_order)."""

def gradient_magnitude(
    x: Union[Array, ArrayLike],
    *varargs: ArrayLike,
    axis: Union[None, int, Sequence[int]] = None,
    edge_order: Literal[1, 2] = 1,
    backend: Literal["auto", "gpu", "cpu", "reference"] = "auto",
    boundary: Union[str, Sequence[str]] = "one-sided",
    period: Union[None, float, Sequence[Union[float, None]]] = None,
    accuracy: Literal[2, 4, 6] = 2,
) -> Array:
    """da.sqrt(sum(g**2 for g in dask.array.gradient(x, ...)))."""
