"""What a controller holds, without any transport: CIP objects and attributes (``device``), Logix
tags and their services (``tags``, ``members``, ``structures``, ``names``), browsing (``symbols``),
the clock, tags at CIP addresses, Forward Open connections and the fault record."""
