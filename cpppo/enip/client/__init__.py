"""The EtherNet/IP client: one sans-IO protocol core and two thin drivers.

- ``operations``: tag strings to operations (the original's dicts, and their path segments)
- ``plan``: what an operation means on the wire (a ``records.Planned``), and replies back to results
- ``records``: the named records (Planned, Result) and the core's events (Send, Delivered, ...)
- ``errors``: the exceptions both drivers raise (subclasses of the built-ins scripts catch)
- ``batch``: one pipeline of operations (depth, Multiple Service Packets, fragments), sans-IO
- ``core``: the sans-IO session (``ClientCore``): bytes and operations in, bytes and results out
- ``client_protocol`` and ``deferred``: the Twisted driver and the Deferred API (``connect``)
- ``connector``: the blocking driver, a plain socket in the caller's thread (the original's API)
- ``views``: the original's dotdict views of requests, replies and identities
- ``discovery``: List Identity and friends by UDP (Twisted, or a plain socket)
"""
