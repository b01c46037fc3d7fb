"""The host's side of tests/net.sh, on 127.0.0.1 only.

    python3 netserver.py PORTFILE

Listens on three ports the kernel picks and writes "HTTP ECHO SINK" to
PORTFILE: an HTTP server (/index.txt says hello-from-host, /big/N sends
N bytes, every answer names the Host and Connection headers and the path
it got, and a POST is counted), and a TCP echo server, each connection in a thread of its own.  Runs until killed.
"""
import http.server
import os
import socketserver
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/index.txt":
            body = b"hello-from-host\n"
        elif self.path == "/":
            body = b"root\n"
        elif self.path.startswith("/big/"):
            body = b"x" * int(self.path[5:])
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Host-Seen", self.headers.get("Host", ""))
        self.send_header("X-Path-Seen", self.path)
        self.send_header("X-Conn-Seen", self.headers.get("Connection", ""))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = b"got %d bytes, %d NUL\n" % (n, self.rfile.read(n).count(0))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Web(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass    # a client cut off by net_bytes, as the test means


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        try:
            while True:
                data = self.request.recv(65536)
                if not data:
                    break
                self.request.sendall(data)
        except OSError:
            pass    # cut off by net_bytes or the run's end


class Sink(socketserver.BaseRequestHandler):
    def handle(self):
        try:
            while self.request.recv(65536):
                pass
            threading.Event().wait(30)  # its end shut: still no word
        except OSError:
            pass


class Threaded(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    web = Web(("127.0.0.1", 0), Handler)
    echo = Threaded(("127.0.0.1", 0), Echo)
    sink = Threaded(("127.0.0.1", 0), Sink)
    for s in (web, echo, sink):
        threading.Thread(target=s.serve_forever, daemon=True).start()
    with open(sys.argv[1] + ".new", "w") as f:
        f.write("%d %d %d\n" % (web.server_address[1],
                                echo.server_address[1],
                                sink.server_address[1]))
    os.rename(sys.argv[1] + ".new", sys.argv[1])
    threading.Event().wait()


if __name__ == "__main__":
    main()
