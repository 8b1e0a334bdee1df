"""The original cpppo's ``cpppo.history.files``: recording to and replaying from history files.

Why a module of re-exports: the original kept all of this in one module, and its users import
from it; here the work is split by job (:mod:`.recording` writes and streams files,
:mod:`.replay` paces polled playback, :mod:`.playback` drives playback from the Twisted reactor).
"""

from .playback import Playback, playback
from .recording import (
    DataError,
    HistoryExhausted,
    IframeError,
    history_files,
    logger,
    opener,
    parse_record,
    record,
    records,
)
from .replay import loader, reader

__all__ = [
    "opener", "logger", "parse_record",
    "HistoryExhausted", "reader",
    "DataError", "IframeError", "loader",
    "history_files", "record", "records", "Playback", "playback",
]
