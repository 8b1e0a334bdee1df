"""twistd plugin ``cpppo-plant``: a plant of controllers and Modbus devices from a plant file (``cpppo.tap.plant``).

Named lazily as a string, so listing plugins imports nothing of cpppo.
"""

from twisted.application.service import ServiceMaker

cpppo_plant = ServiceMaker(
    "cpppo plant",
    "cpppo.tap.plant",
    "Many simulated controllers and Modbus devices, each at its own address, from one plant file",
    "cpppo-plant",
)
