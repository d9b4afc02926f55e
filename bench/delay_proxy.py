"""A user-space delay proxy for the deploy benchmark: each listener forwards TCP to one target,
holding every chunk for half the round-trip time in each direction, so a connection through it
sees `rtt_ms` of added round trip (tc netem is not available everywhere). Order is kept and
bandwidth is not limited: what it adds is latency, the cost of every round trip a tool makes.
With `uplink_mbit`, what the clients send shares one link of that speed (the operator's uplink):
each chunk leaves when the link has carried those before it, whichever connection they were on.

    proxy = DelayProxy(rtt_ms=40)  # or DelayProxy(40, uplink_mbit=20)
    port = proxy.add("127.0.1.2", 2222)  # listens on 127.0.0.1:port
    ...
    proxy.sent  # bytes carried towards the targets so far: what the clients' uplink sent
    proxy.close()
"""
import asyncio
import socket
import threading
import time


class DelayProxy:
    def __init__(self, rtt_ms, uplink_mbit=0):
        self.delay = rtt_ms / 2000.0
        self.uplink_bps = uplink_mbit * 1e6
        self.uplink_free = 0.0  # when the shared uplink has sent what it was given
        self.sent = 0  # bytes forwarded from clients to targets (updated on the proxy's thread)
        self.loop = asyncio.new_event_loop()
        self.servers = []
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def add(self, host, port):
        """A listener on 127.0.0.1 forwarding to host:port; returns its port."""
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(512)

        async def start():
            return await asyncio.start_server(lambda r, w: self._serve(r, w, host, port), sock=sock)

        self.servers.append(asyncio.run_coroutine_threadsafe(start(), self.loop).result())
        return sock.getsockname()[1]

    async def _serve(self, client_r, client_w, host, port):
        try:
            server_r, server_w = await asyncio.open_connection(host, port)
        except OSError:
            client_w.close()
            return
        for w in (client_w, server_w):
            w.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.gather(self._pump(client_r, server_w, True), self._pump(server_r, client_w),
                             return_exceptions=True)
        for w in (client_w, server_w):
            w.close()

    async def _pump(self, reader, writer, uplink=False):
        # Chunks wait in a queue until their time: a reader never waits for the writer, so data
        # keeps arriving (as on a long link) while earlier chunks are in flight.
        queue = asyncio.Queue()

        async def send():
            while True:
                due, data = await queue.get()
                if uplink and self.uplink_bps and data:
                    self.uplink_free = max(due, self.uplink_free) + len(data) * 8 / self.uplink_bps
                    due = self.uplink_free
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is None:
                    try:
                        writer.write_eof()
                    except OSError:
                        pass
                    return
                writer.write(data)
                await writer.drain()

        sender = asyncio.ensure_future(send())
        try:
            while True:
                data = await reader.read(65536)
                if uplink:
                    self.sent += len(data)
                await queue.put((time.monotonic() + self.delay, data or None))
                if not data:
                    break
            await sender
        except OSError:
            sender.cancel()
            writer.close()  # a reset: the other way ends too

    def close(self):
        async def stop():
            for s in self.servers:
                s.close()
            # Connections still open (an ssh ControlMaster winding down) end with the proxy.
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
