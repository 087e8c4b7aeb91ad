"""Run localstripe (a Stripe API emulator, GPL, test-only) on 127.0.0.1 with its state in memory.

`python -m tests.support.localstripe_server PORT`. Upstream binds every interface
(`::`) and pickles its whole store to /tmp/localstripe.pickle on every write, so
two runs (or two xdist workers) would share and clobber one file. Here the store's
disk methods do nothing and the socket is bound to loopback only.
"""

from __future__ import annotations

import logging
import socket
import sys

from aiohttp import web
from localstripe import resources, server


def main(port: int) -> None:
    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    resources.Store.try_load_from_disk = lambda self: None  # type: ignore[method-assign]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    web.run_app(server.app, sock=sock, access_log=logging.getLogger("aiohttp.access"), print=None)


if __name__ == "__main__":
    main(int(sys.argv[1]))
