"""What every server command line and twistd plugin does as it starts: logging, and failing in one line.

Why here: ``python -m cpppo.server.enip``, ``modbus_sim`` and the twistd plugins
``cpppo-enip`` / ``cpppo-modbus`` must agree on two things a new user meets in
the first minute.  Logging is set up *before* anything is loaded, so that what
a loader skips (an L5X export's Add-On Instructions, I/O modules, aliases it
cannot serve) is seen, at every verbosity.  And a server that cannot start (a
port in use, a port below 1024 without the privilege) says so in one line
naming the address it was asked for, never with a traceback.
"""

from __future__ import annotations

import errno
import logging
import logging.handlers
from typing import Any

from ..misc import log_cfg, log_level

__all__ = ["LOADERS", "setup_logging", "TwistedLogHandler", "reason"]

#: The loggers of the tag-file loaders: what they skip, and why, is shown at every verbosity.
LOADERS = ("cpppo.enip.simulator.loaders.l5x", "cpppo.enip.simulator.loaders.csvtags")


def setup_logging(verbose: int, log_file: str | None = None, rotating: bool = False,
                  handler: logging.Handler | None = None) -> None:
    """Log at the level ``-v`` (given *verbose* times) asks for: to *log_file*, *handler* or stderr.

    *rotating* makes *log_file* a rotating file (10 MB, 5 copies), as the EtherNet/IP
    simulator's ``--log`` has it; ``modbus_sim --log`` writes one plain file.  The
    loaders' skip lines are INFO records; their loggers pass INFO at every verbosity.
    """
    level = log_level(verbose)
    if log_file:
        handler = (logging.handlers.RotatingFileHandler(log_file, maxBytes=10 * 1024 * 1024, backupCount=5)
                   if rotating else logging.FileHandler(log_file))
    if handler is None:
        handler = logging.StreamHandler()
    if handler.formatter is None:
        handler.setFormatter(logging.Formatter(log_cfg["format"], log_cfg["datefmt"]))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for name in LOADERS:
        logging.getLogger(name).setLevel(min(level, logging.INFO))


class TwistedLogHandler(logging.Handler):
    """Hands the standard library's log records to :mod:`twisted.logger`, i.e. to twistd's log.

    Why: under twistd the log is twistd's (stdout with ``-n``, else ``twistd.log``), with its
    own timestamps; records made while the options are parsed (the loaders') wait in
    Twisted's log buffer until twistd starts its log, and are not lost.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        from twisted.logger import Logger, LogLevel

        levels = ((logging.CRITICAL, LogLevel.critical), (logging.ERROR, LogLevel.error),
                  (logging.WARNING, LogLevel.warn), (logging.INFO, LogLevel.info))
        level = next((tw for std, tw in levels if record.levelno >= std), LogLevel.debug)
        try:
            Logger(namespace=record.name).emit(level, "{message}", message=self.format(record))
        except Exception:  # never let logging stop the server
            self.handleError(record)


def reason(error: BaseException) -> str:
    """Why a server could not start, in one line: the address asked for, and what the system said.

    ``cannot listen on 127.0.0.1:44818: Address already in use``; a port below 1024
    refused for want of privilege also says what would allow it.
    """
    from twisted.internet.error import CannotListenError

    if isinstance(error, CannotListenError):
        cause: Any = error.socketError
        text = getattr(cause, "strerror", None) or str(cause)
        if getattr(cause, "errno", None) in (errno.EACCES, errno.EPERM) and error.port < 1024:
            text += f" (port {error.port} is below 1024: run as root, or grant CAP_NET_BIND_SERVICE)"
        return f"cannot listen on {error.interface or '0.0.0.0'}:{error.port}: {text}"
    return str(error) or type(error).__name__
