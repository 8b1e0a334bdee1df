"""Command-line tools and the original cpppo's example programs, built on the client (and, for
``historize`` and ``weather``, on the simulator): ``enip_client``, ``get_attribute`` and its
``proxy``, ``list_identity``, ``poll``, ``thruput``, ``io``, ``historize``, ``weather``."""
