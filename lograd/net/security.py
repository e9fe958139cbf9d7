"""CurveZMQ for lograd: key pairs, and which keys a coordinator and a worker use.

A *keys directory* holds key pairs made by ``lograd-keys`` (pyzmq's
``zmq.auth`` certificate files: ``NAME.key`` is public, ``NAME.key_secret``
secret)::

    keys/coordinator.key, keys/coordinator.key_secret   the coordinator's pair
    keys/worker.key,      keys/worker.key_secret        a pair for workers
    keys/alice.key        another worker's public key, copied from its machine

A coordinator started with ``--curve keys`` encrypts every socket with its own
pair and lets in only clients whose public key is one of ``keys/*.key``.
A worker started with ``--curve keys`` uses ``keys/ID.key_secret`` (its
own pair) when there is one, else ``keys/worker.key_secret``, and trusts the
server whose public key is ``keys/coordinator.key``.
"""
from __future__ import annotations

import os

import msgspec
import zmq

from ..errors import MissingKey

COORDINATOR = "coordinator"
WORKER = "worker"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class Curve(msgspec.Struct, frozen=True):
    """The CurveZMQ keys of one side: its own pair, and for a client the server's public key."""

    public: bytes
    secret: bytes
    server_public: bytes | None = None  # None: this side is the server

    def apply(self, sock: zmq.Socket) -> None:
        """Set the socket's CURVE options (before it binds or connects)."""
        sock.curve_secretkey = self.secret
        sock.curve_publickey = self.public
        if self.server_public is None:
            sock.curve_server = True
        else:
            sock.curve_serverkey = self.server_public


def make_keys(directory: str, names: list[str]) -> list[str]:
    """Make a key pair per name in ``directory`` (created if needed); an existing secret key
    is kept, never overwritten. Returns the public key files made."""
    from zmq.auth.certs import create_certificates  # only with --curve: 5 ms of every start-up
    os.makedirs(directory, mode=0o700, exist_ok=True)
    made = []
    for name in names:
        if os.path.exists(os.path.join(directory, f"{name}.key_secret")):
            continue
        public, secret = create_certificates(directory, name)
        os.chmod(secret, 0o600)
        made.append(public)
    return made


def _load(path: str, how_to_fix: str) -> tuple[bytes, bytes | None]:
    """(public, secret or None) of a certificate file, or MissingKey saying how to fix it."""
    from zmq.auth.certs import load_certificate
    try:
        return load_certificate(path)
    except (OSError, ValueError) as exc:
        raise MissingKey(f"no usable key in {path} ({exc}); {how_to_fix}") from None


def _pair(directory: str, name: str) -> tuple[bytes, bytes]:
    path = os.path.join(directory, f"{name}.key_secret")
    public, secret = _load(path, f"make one with bin/lograd-keys {directory} {name}")
    if secret is None:
        raise MissingKey(f"{path} holds no secret key")
    return public, secret


def server_curve(directory: str) -> Curve:
    """The coordinator's keys from ``directory``."""
    public, secret = _pair(directory, COORDINATOR)
    return Curve(public, secret)


def client_curve(directory: str, worker_id: str) -> Curve:
    """A worker's keys from ``directory``: its own pair if there is one, else the shared one."""
    name = worker_id if os.path.exists(os.path.join(directory, f"{worker_id}.key_secret")) else WORKER
    public, secret = _pair(directory, name)
    server_public, _ = _load(os.path.join(directory, f"{COORDINATOR}.key"),
                             "copy coordinator.key from the coordinator's keys directory")
    return Curve(public, secret, server_public)


def start_authenticator(ctx: zmq.Context, directory: str):
    """Admit to ``ctx``'s CURVE servers only clients whose public key is in ``directory``
    (a ``zmq.auth`` ThreadAuthenticator, imported only here: it brings asyncio along)."""
    from zmq.auth.thread import ThreadAuthenticator
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_curve(domain="*", location=directory)
    return auth


def exposed(bind: str) -> bool:
    """Whether listening on ``bind`` lets other machines in."""
    return bind not in LOOPBACK
