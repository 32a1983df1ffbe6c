"""Memory a big message used, given back to the operating system once it is answered.

A message of thousands of claims builds hundreds of megabytes of short-lived objects. Python
frees them when the message is answered, but glibc's allocator keeps the freed pages for
later (an outside probe saw 2.2 GB kept after six 10 MB messages at a time). Measured in
process, a 10,000-claim KSD file left the process 200 MB larger, of which `malloc_trim` gave
110 MB back at once; over HTTP, four such files one after the other left the server at
328-420 MiB against 381-497 without. Trimming walks the heap, a few milliseconds, so it is
done only after big messages, once their answer has gone. Elsewhere than glibc it does
nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

# Bodies from this size are followed by a trim (a 1,000-claim message is 0.3-1 MB).
GIVE_BACK_FROM_BYTES = 1024 * 1024


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    result: Callable[[int], int] = trim
    return result


_TRIM = _malloc_trim()


def give_back() -> None:
    """Return the allocator's free memory to the operating system (glibc), if it can."""
    if _TRIM is not None:
        _TRIM(0)
