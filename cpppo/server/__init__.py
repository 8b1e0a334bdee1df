"""Servers: the EtherNet/IP CIP controller simulator (``cpppo.server.enip``)."""
