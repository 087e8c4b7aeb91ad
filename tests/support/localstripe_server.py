"""Run localstripe (a Stripe API emulator, GPL, test-only) on 127.0.0.1 with its state in memory.

`python -m tests.support.localstripe_server PORT`. Upstream binds every interface
(`::`) and pickles its whole store to /tmp/localstripe.pickle on every write, so
two runs (or two xdist workers) would share and clobber one file. Here the store's
disk methods do nothing and the socket is bound to loopback only.

Its fake Stripe.js declares `class Element` at the top level of a classic script, which
shadows the DOM's `Element` for every script on the page (htmx's `instanceof Element`
checks then fail and boosted links become full page loads). Real Stripe.js declares no
globals but `Stripe`; here the same file is served wrapped in a function, so its names
stay its own and `Stripe` (an undeclared assignment) is still the one global it sets.
"""

from __future__ import annotations

import logging
import socket
import sys
from pathlib import Path

from aiohttp import web
from localstripe import resources, server

FAKE_STRIPE_JS = "/js.stripe.com/v3/"


def _wrapped_stripe_js() -> str:
    source = (Path(server.__file__).parent / "localstripe-v3.js").read_text()
    return f"(function () {{\n{source}\n}})();\n"


@web.middleware
async def _own_scope(request: web.Request, handler):  # type: ignore[no-untyped-def]
    if request.method == "GET" and request.path == FAKE_STRIPE_JS:
        return web.Response(text=_wrapped_stripe_js(), content_type="application/javascript")
    return await handler(request)


def main(port: int) -> None:
    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    resources.Store.try_load_from_disk = lambda self: None  # type: ignore[method-assign]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    server.app.middlewares.append(_own_scope)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    web.run_app(server.app, sock=sock, access_log=logging.getLogger("aiohttp.access"), print=None)


if __name__ == "__main__":
    main(int(sys.argv[1]))
