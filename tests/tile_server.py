"""A local basemap for the browser tests: a MapLibre style (``/style.json``) over raster tiles of
one colour (``/tiles/{z}/{x}/{y}.png``), served with the CORS header a browser needs to draw them
on a map of another origin.  ``requests`` records every path asked for."""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

TILE_COLOUR = (196, 226, 160)  # a pale green that nothing else on the page is


def _tile() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), TILE_COLOUR).save(out, format="PNG")
    return out.getvalue()


class TileServer:
    def __init__(self) -> None:
        self.requests: list[str] = []
        tile = _tile()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                outer.requests.append(self.path)
                if self.path == "/style.json":
                    body, kind = json.dumps(outer.style()).encode(), "application/json"
                elif self.path.startswith("/tiles/") and self.path.endswith(".png"):
                    body, kind = tile, "image/png"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def style(self) -> dict:
        return {
            "version": 8,
            "sources": {"tiles": {"type": "raster", "tileSize": 256,
                                  "tiles": [f"{self.url}/tiles/{{z}}/{{x}}/{{y}}.png"]}},
            "layers": [{"id": "tiles", "type": "raster", "source": "tiles"}],
        }  # fmt: skip

    def start(self) -> TileServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
