"""EtherNet/IP and CIP, in layers that each know only the one below.

    codec/       bytes <-> records: encapsulation, CPF, CIP services, Logix tags, EPATH, types, the
                 codes vocabulary.  Sans-IO: no sockets, no reactor, no clock.
    simulator/   a ControlLogix: its transport (Twisted protocols that only move bytes), the
                 controller behind it (CIP objects, tags, connections, faults; knows nothing of
                 sockets), the loaders of the user's exports, and the start-up from options.
    client/      operations -> requests -> results, driven over the reactor (Deferred API) or a
                 blocking facade (the original's ``connector``).
    web/         the Klein web API and live page, talking to a controller.
    tools/       the command-line tools and the original's examples, built on the client.

``cpppo.server.enip`` keeps the original cpppo's public module paths, each re-exporting from here.
"""
