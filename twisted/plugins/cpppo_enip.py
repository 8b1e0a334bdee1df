"""twistd plugin ``cpppo-enip``: the EtherNet/IP CIP controller simulator (``cpppo.tap.enip``).

Named lazily as a string, so listing plugins imports nothing of cpppo.
"""

from twisted.application.service import ServiceMaker

cpppo_enip = ServiceMaker(
    "cpppo EtherNet/IP simulator",
    "cpppo.tap.enip",
    "A simulated ControlLogix controller serving tags (e.g. SCADA=INT[1000])",
    "cpppo-enip",
)
