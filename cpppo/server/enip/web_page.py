"""The live page served at ``/``: plain HTML, CSS and a little JavaScript that polls the JSON API."""

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>cpppo EtherNet/IP simulator</title>
<link rel="icon" href="data:,"></head>
<body><p>The live page is not written yet; see <a href="/api">/api</a>.</p></body></html>
"""
