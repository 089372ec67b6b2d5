"""Wire protocols, sans-IO: bytes in, values (or a ProtocolError with a status) out.

``http11`` parses HTTP/1.1 request heads and chunked bodies and encodes response heads; ``uwsgi``
parses the binary uwsgi packet nginx sends. Nothing here touches sockets, config or logging:
limits are arguments, so every rule is testable with plain bytes (design principle 2).
"""
