"""The EtherNet/IP controller simulator: transport, controller, loaders and start-up.

Bytes arrive at ``server_protocol`` (Twisted protocols that only move bytes), are framed and decoded
by the codec, and are served by ``service`` (sessions, CIP routing, connected messaging) against the
``controller`` package (CIP objects, Logix tags and structures, connections, faults).  ``loaders``
turn the user's exports (tags file, L5X, CSV) into types and tags; ``options`` and ``run`` turn a
command line into a running simulator.
"""
