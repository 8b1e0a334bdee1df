"""EtherNet/IP and CIP, sans-IO: encapsulation, Common Packet Format, CIP services, Logix tags."""
