"""Test peers: the ORIGINAL cpppo 5.2.5 (from the package index, in its own virtualenv), a
recording TCP proxy that splits EtherNet/IP frames, and a tiny pcap writer for tshark.

These are test tools, not part of the product.  Nothing here imports pytest; nothing here listens
on anything but 127.0.0.1.

    from tests.peers.original import original_venv, start_original_simulator, run_original_client
    from tests.peers.proxy import RecordingProxy, split_frames, enip_frames
    from tests.peers.pcap import write_pcap
    from tests.peers.process import ServerProcess, wait_for_port   # a server subprocess: stop, reap, output
"""
