"""Command-line programs: ``modbus_sim`` and ``modbus_poll`` (each module has ``main(argv=None) -> int``).

Why a package: console_scripts entry points and ``python -m cpppo.bin.<name>``
both need an importable home for the programs, apart from the library.
"""
