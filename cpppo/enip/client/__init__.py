"""The EtherNet/IP client: tag strings to operations (``operations``), operations to CIP requests and
replies to results (``plan``), the pipeline of one run (``batch``) over the Twisted protocol
(``client_protocol``), the Deferred API (``deferred``), the original's blocking ``connector``, and
UDP discovery (``discovery``)."""
