"""twistd plugins' ``Options`` and ``makeService``: one module per service (``cpppo.tap.modbus``).

Why: the ServiceMakers in ``twisted/plugins/`` name these modules as strings
so that ``twistd --help`` imports nothing heavy; option parsing here has no
side effects, and everything that opens a port happens in ``makeService``'s
service when it starts.
"""
