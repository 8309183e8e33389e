#!/usr/bin/python3
"""gRPC calls from the client VM to the load balancer: a unary call and a bidirectional
streaming call over TLS, answered by the grpc-echo service (`albemu standin --http2`, which
echoes each message back). Generic calls, no protos: messages are bytes as they are.

  grpc-call                               # unary /echo.Echo/Say, then bidi /echo.Echo/Chat
  grpc-call --status 7 --message 'no'     # the stand-in's status hook: the call fails with it

Prints one JSON line per call: the method, what was sent and received, the status code and
details, and the stand-in's identity from the response metadata. Exits 0 when the calls ended
as asked (OK, or the hook's status), 1 otherwise.
"""

import argparse
import json
import sys

import grpc


def identity(metadata):
    """The x-standin-* entries of a call's metadata."""
    return {key: value for key, value in (metadata or ()) if key.startswith("x-standin-")}


def unary(channel, metadata, timeout):
    sent = b"hello from vm-client"
    call = channel.unary_unary("/echo.Echo/Say")
    try:
        reply, state = call.with_call(sent, metadata=metadata, timeout=timeout)
        return {"call": "unary", "method": "/echo.Echo/Say", "sent": [sent.decode()],
                "received": [reply.decode()], "code": state.code().name,
                "details": state.details() or "", "metadata": identity(state.initial_metadata())}
    except grpc.RpcError as error:
        return {"call": "unary", "method": "/echo.Echo/Say", "sent": [sent.decode()],
                "received": [], "code": error.code().name, "details": error.details() or "",
                "metadata": identity(error.initial_metadata()) |
                identity(error.trailing_metadata())}


def bidi(channel, metadata, timeout):
    sent = [b"one", b"two", b"three"]
    responses = channel.stream_stream("/echo.Echo/Chat")(iter(sent), metadata=metadata,
                                                         timeout=timeout)
    received = []
    try:
        received = [message.decode() for message in responses]
    except grpc.RpcError:
        pass  # the code and details are the call's, below
    return {"call": "bidi", "method": "/echo.Echo/Chat", "sent": [m.decode() for m in sent],
            "received": received, "code": responses.code().name,
            "details": responses.details() or "",
            "metadata": identity(responses.initial_metadata()) |
            identity(responses.trailing_metadata())}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="10.1.2.99:443", help="the forwarding rule")
    parser.add_argument("--authority", default="grpc-echo.example.com",
                        help="TLS server name and :authority (the dev certificate's names)")
    parser.add_argument("--cacert", default="/var/lib/albemu/certs/ca.crt")
    parser.add_argument("--status", type=int, choices=range(17), metavar="0..16",
                        help="x-standin-grpc-status: end the calls with this code")
    parser.add_argument("--message", help="x-standin-grpc-message: its details")
    parser.add_argument("--timeout", type=float, default=10)
    args = parser.parse_args()

    with open(args.cacert, "rb") as cacert:
        credentials = grpc.ssl_channel_credentials(root_certificates=cacert.read())
    options = [("grpc.ssl_target_name_override", args.authority),
               ("grpc.default_authority", args.authority)]
    metadata = []
    if args.status is not None:
        metadata.append(("x-standin-grpc-status", str(args.status)))
    if args.message is not None:
        metadata.append(("x-standin-grpc-message", args.message))
    expected = "OK" if args.status is None else next(
        code.name for code in grpc.StatusCode if code.value[0] == args.status)

    ok = True
    with grpc.secure_channel(args.target, credentials, options=options) as channel:
        for call in (unary, bidi):
            result = call(channel, metadata, args.timeout)
            print(json.dumps(result), flush=True)
            ok = ok and result["code"] == expected
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
