"""The simulator's web front end: the API's model without HTTP (``api``), tag values as the web
shows and takes them (``values``), the Klein application (``app``) and the live page (``page``)."""
