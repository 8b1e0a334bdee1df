"""twistd plugin ``cpppo-modbus``: the Modbus/TCP and Modbus/RTU simulator (``cpppo.tap.modbus``).

Named lazily as a string, so listing plugins imports nothing of cpppo.
"""

from twisted.application.service import ServiceMaker

cpppo_modbus = ServiceMaker(
    "cpppo Modbus simulator",
    "cpppo.tap.modbus",
    "A simulated Modbus/TCP or Modbus/RTU PLC serving register ranges (e.g. 40001-40100=99)",
    "cpppo-modbus",
)
