"""The explorer's web server: one page, its static files, and a websocket that plays the game.

A standard ASGI stack: starlette for the routes, uvicorn (with websockets) to serve them.
Everything the page loads is in ganforge/explore/static/; nothing comes from the network.

One game is shared by every open page. While it plays, the server runs training iterations
for one frame interval minus what the last frame cost, then draws a frame and sends it to
every page: the frame rate is held and training gets the rest of the time. Slow motion runs one
iteration per frame at a few frames a second. The grid metrics (JSD, KL, modes; costlier
than a frame) are measured every `measure_every` seconds of play.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import FileResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from ganforge.explore.session import Session

STATIC = Path(__file__).parent / "static"
SLOW_FPS = 4.0
MAX_MESSAGE = 1 << 20  # bytes; a drawn distribution of 5000 points fits many times


def json_text(message: dict) -> str:
    """The message as JSON a browser parses: a NaN or infinity anywhere becomes null."""
    try:
        return json.dumps(message, allow_nan=False)
    except ValueError:
        return json.dumps(_no_nan(message), allow_nan=False)


def _no_nan(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_no_nan(v) for v in value]
    return value


class Game:
    """The session, the pages watching it, and the task that plays it."""

    def __init__(self, session: Session, fps: float = 20.0, measure_every: float = 2.0):
        self.session, self.fps, self.measure_every = session, fps, measure_every
        self.pages: set[WebSocket] = set()
        self.wake = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.frames_sent = 0

    async def send(self, ws: WebSocket, message: dict) -> None:
        try:
            await ws.send_text(json_text(message))
        except Exception:  # a page that went away; its handler removes it
            self.pages.discard(ws)

    async def broadcast(self, message: dict) -> None:
        for ws in list(self.pages):
            await self.send(ws, message)

    async def play(self) -> None:
        """Train and draw while playing; sleep on `wake` while paused. A game that fails or
        diverges pauses with an error on the pages; the server goes on."""
        s = self.session
        self.step_cost = self.frame_cost = 0.0
        self.last_measure = self.deadline = time.perf_counter()
        while True:
            if not s.playing:
                self.wake.clear()
                await self.wake.wait()
                self.last_measure = self.deadline = time.perf_counter()
                continue
            try:
                frame = self.train_then_draw()
            except Exception as err:
                await self.stop(f"training stopped: {type(err).__name__}: {err}")
                continue
            await self.broadcast(frame)
            self.frames_sent += 1
            if any(k in frame and frame[k] is None for k in ("loss_d", "loss_g")):
                await self.stop(f"training diverged at step {frame['step']} (a loss is NaN or "
                                "infinite): lower the learning rates, change the objective, or "
                                "reset")
                continue
            end = time.perf_counter()
            if not frame.get("metrics") or s.slow:
                self.frame_cost = 0.8 * self.frame_cost + 0.2 * (end - self.drawn_at)
            self.deadline = max(self.deadline, end - 1.0 / self.fps)  # behind: no catching up
            # at full speed, only let the event loop take the pages' messages: a real sleep
            # would hand the core away, and on a busy machine getting it back costs
            # milliseconds; training fills the time to the next frame instead
            await asyncio.sleep(max(0.0, self.deadline - end) if s.slow else 0.0)

    def train_then_draw(self) -> dict:
        """Iterations until the next frame is due, then the frame.

        Frames fall due every 1/fps seconds; iterations run for as long as half of one more
        iteration and the frame still fit (their costs are running averages), so that
        training fills the time between frames."""
        s = self.session
        self.deadline += 1.0 / (SLOW_FPS if s.slow else self.fps)
        done = 0
        while True:
            started = time.perf_counter()
            s.iterate()
            done += 1
            now = time.perf_counter()
            cost = now - started
            self.step_cost = cost if self.step_cost == 0 else 0.9 * self.step_cost + 0.1 * cost
            # half a step: on average the frame then starts on time, neither early nor late
            if s.slow or now + 0.5 * self.step_cost + self.frame_cost >= self.deadline:
                break
        self.drawn_at = now
        measured = s.slow or now - self.last_measure >= self.measure_every
        if measured:
            s.measure()
            self.last_measure = now
        return s.frame(measured=measured)

    async def stop(self, message: str) -> None:
        self.session.playing = False
        await self.broadcast({"type": "error", "message": message})
        await self.broadcast(self.session.state())

    async def receive(self, ws: WebSocket, text: str) -> None:
        """One message of a page: its replies go to every page (they share the game)."""
        if len(text) > MAX_MESSAGE:
            replies = [{"type": "error", "message": f"message too long ({len(text)} bytes; "
                                                    f"at most {MAX_MESSAGE})"}]
        else:
            try:
                message = json.loads(text)
            except ValueError as err:
                message = err
            if isinstance(message, ValueError):
                replies = [{"type": "error", "message": f"not a JSON message: {message}"}]
            elif not isinstance(message, dict):  # null, numbers, arrays, strings
                replies = [{"type": "error", "message": f"a message is a JSON object with a "
                                                        f"\"type\", got {text[:80]}"}]
            else:
                try:
                    replies = self.session.handle(message)
                except Exception as err:  # never let one message stop the game
                    replies = [{"type": "error", "message": f"{type(err).__name__}: {err}"}]
        for reply in replies:
            if reply["type"] in ("error", "saved"):
                await self.send(ws, reply)
            else:
                await self.broadcast(reply)
        if self.session.playing:
            self.wake.set()


def create_app(run_root: Path | str | None = None, fps: float = 20.0,
               measure_every: float = 2.0) -> Starlette:
    """The explorer's ASGI app; `run_root` is where "save as run" may write (None: nowhere)."""
    game: dict[str, Game] = {}

    def current() -> Game:
        if "game" not in game:  # built on first use, inside the server's event loop
            game["game"] = Game(Session(run_root), fps, measure_every)
        g = game["game"]
        if g.task is None or g.task.done():
            g.task = asyncio.get_running_loop().create_task(g.play())
        return g

    async def index(request):
        return FileResponse(STATIC / "index.html")

    async def socket(ws: WebSocket) -> None:
        await ws.accept()
        g = current()
        g.pages.add(ws)
        for reply in g.session.handle({"type": "hello"}):
            await g.send(ws, reply)
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("text") is None:
                    await g.send(ws, {"type": "error", "message": "binary messages are not "
                                      "understood; send JSON text"})
                    continue
                await g.receive(ws, message["text"])
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            g.pages.discard(ws)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        g = game.get("game")
        if g is not None and g.task is not None:
            g.task.cancel()

    app = Starlette(routes=[Route("/", index), WebSocketRoute("/ws", socket),
                            Mount("/static", StaticFiles(directory=STATIC), name="static")],
                    lifespan=lifespan)
    app.state.game = game
    return app


def serve(host: str = "127.0.0.1", port: int = 8000, run_root: Path | str | None = None) -> None:
    import torch
    import uvicorn

    # small MLPs: one thread is fastest, and on a busy machine two contend badly; the
    # server's own work (JSON, websockets) runs beside it
    torch.set_num_threads(1)
    print(f"ganforge explore: open http://{host}:{port}/ (Ctrl-C stops)", flush=True)
    # no per-message compression: the page is local, and deflating every frame costs the game
    uvicorn.run(create_app(run_root), host=host, port=port, ws="websockets-sansio",
                ws_per_message_deflate=False, log_level="warning")
