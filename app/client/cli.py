"""``bbauth client``: trying the API by hand, with a key that speaks DPoP.

Session tokens are bound to a key the client holds (RFC 9449), so ``curl`` alone cannot use
them; this command keeps a P-256 key, the token and the known-device token in a state file
(owner-only, ``var/client.json`` by default) and signs a proof for every request::

    bbauth client login alice@bbauth.local --password alice-demo-pass
    bbauth client verify 123456
    bbauth client call GET /api/auth/me
    bbauth client call POST /api/demo/payments --json '{"payee": "ACME", "amount_cents": 1250}'
    bbauth client logout

Each prints the status and the JSON body; the exit status is 0 for 2xx, 1 otherwise.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey
from pydantic import TypeAdapter, ValidationError

from app.client.dpop import DpopKey
from app.settings import Settings


@dataclass
class ClientState:
    """What the client keeps between commands."""

    url: str
    key: dict[str, Any] = field(default_factory=dict)
    token: str = ""
    challenge_id: str = ""
    email: str = ""
    device_tokens: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, url: str) -> ClientState:
        """The state kept in ``path`` for ``url``; a file that is not one (edited, truncated,
        another program's) is said and left for a fresh state, which the next login saves."""
        if path.exists():
            try:
                saved = _STATE.validate_json(path.read_bytes())
            except ValidationError as exc:
                reason = exc.errors()[0]["msg"]
                print(
                    f"bbauth client: {path} is not a client state file ({reason}); "
                    "going on without it",
                    file=sys.stderr,
                )
                return cls(url=url)
            if not url or url == saved.url:
                return saved
        return cls(url=url)

    def save(self, path: Path) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2))

    def dpop_key(self) -> DpopKey:
        """The client's key (made on first use)."""
        if not self.key:
            self.key = DpopKey.generate().key.as_dict(private=True)
        return DpopKey(ECKey.import_key(self.key))


_STATE = TypeAdapter(ClientState)


def request(
    state: ClientState, method: str, path: str, body: Any = None, *, signed: bool
) -> tuple[int, Any]:
    """One request to the server; with ``signed``, the token and a DPoP proof go with it."""
    url = state.url.rstrip("/") + path
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    token = state.token or None
    if signed:
        headers["DPoP"] = state.dpop_key().proof(method, url, token)
        if token:
            headers["Authorization"] = f"DPoP {token}"
    sent = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(sent, timeout=30) as reply:  # noqa: S310 (an http URL)
            raw = reply.read()
            status = reply.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def _print(status: int, body: Any) -> int:
    print(status, json.dumps(body, indent=2) if not isinstance(body, str) else body)
    return 0 if 200 <= status < 300 else 1


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Carry out one ``bbauth client`` sub-command; a server it cannot reach is said in one line
    (exit status 2), its state left as it was."""
    path = Path(args.state) if args.state else settings.var_dir / "client.json"
    state = ClientState.load(path, args.url or settings.effective_public_url)
    try:
        return _run(args, state, path)
    except urllib.error.URLError as error:  # HTTP errors are answers: request returns them
        print(f"bbauth client: cannot reach {state.url}: {error.reason}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, state: ClientState, path: Path) -> int:
    if args.client_command == "login":
        password = args.password or getpass.getpass(f"password of {args.email}: ")
        body: dict[str, Any] = {"email": args.email, "password": password}
        if args.email in state.device_tokens:
            body["device_token"] = state.device_tokens[args.email]
        status, reply = request(state, "POST", "/api/auth/login", body, signed=False)
        if status == 202 and isinstance(reply, dict):
            state.challenge_id, state.email, state.token = reply["challenge_id"], args.email, ""
    elif args.client_command == "verify":
        body = {"challenge_id": args.challenge or state.challenge_id, "code": args.code}
        status, reply = request(state, "POST", "/api/auth/otp/verify", body, signed=True)
        if status == 200 and isinstance(reply, dict):
            state.token, state.challenge_id = reply["token"], ""
            if reply.get("device_token"):
                state.device_tokens[state.email] = reply["device_token"]
    elif args.client_command == "call":
        status, reply = request(state, args.method.upper(), args.path, args.json, signed=True)
    else:  # logout
        status, reply = request(state, "POST", "/api/auth/logout", signed=True)
        state.token = ""
    state.save(path)
    return _print(status, reply)


def _json_body(text: str) -> Any:
    """``--json``'s value, parsed: a typing slip is told as a usage error, not a traceback."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None


def server_url(text: str) -> str:
    """A server's base URL as an option takes it: http(s) and a host, or a usage error."""
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"not an http(s) URL with a host: {text!r}")
    try:
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}: {text!r}") from None
    return text


def _api_path(text: str) -> str:
    """A request path: from the server's root (``/api/auth/me``), or a usage error."""
    if not text.startswith("/"):
        raise argparse.ArgumentTypeError(f"a path from the server's root, such as /{text}")
    return text


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``client`` sub-command and its own sub-commands."""
    client = commands.add_parser(
        "client", help="try the API by hand: a client that holds a key and speaks DPoP"
    )
    client.add_argument(
        "--url", type=server_url, help="server URL (default: BBAUTH_PUBLIC_URL or host:port)"
    )
    client.add_argument("--state", help="state file (default: $BBAUTH_VAR_DIR/client.json)")
    sub = client.add_subparsers(dest="client_command", required=True)
    login = sub.add_parser("login", help="password step: the code goes to the account's email")
    login.add_argument("email")
    login.add_argument("--password", help="asked for when not given")
    verify = sub.add_parser("verify", help="code step: keeps the token, bound to the key")
    verify.add_argument("code")
    verify.add_argument("--challenge", help="challenge id (default: the last login's)")
    call = sub.add_parser("call", help="one request with the token and a DPoP proof")
    call.add_argument("method")
    call.add_argument("path", type=_api_path)
    call.add_argument("--json", type=_json_body, help="request body (JSON)")
    sub.add_parser("logout", help="end the session")
