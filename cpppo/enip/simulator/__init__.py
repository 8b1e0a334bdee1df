"""The EtherNet/IP controller simulator: bytes -> protocol -> dispatch -> router -> controller.

Bytes arrive at ``server_protocol`` (Twisted protocols that only move bytes), are framed and decoded
by the codec, and go to ``dispatch`` (encapsulation commands and the sessions table) with the
connection's record from ``transport`` (client connections and listeners, which ``listeners`` binds
from endpoint descriptions); ``router`` serves the CIP inside them against a ``controller`` (a plain
object: CIP objects, Logix tags and structures, connections, faults; ``controller.plc.Controller``).
``service.EnipService`` bundles one controller with its router, dispatcher and transport.  ``loaders``
turn the user's exports (tags file, L5X, CSV) into types and tags; ``options`` and ``run`` turn a
command line into settings and settings into a running simulator.
"""
