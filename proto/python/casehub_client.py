#!/usr/bin/env python3
"""A small casehub API client in Python (grpcio), from the stubs protoc
generates out of proto/casehub/v1/casehub.proto.

Generate the stubs, then run:

    protoc -I proto --python_out=gen --grpc_out=gen \
        --plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin \
        proto/casehub/v1/casehub.proto
    PYTHONPATH=gen python3 proto/python/casehub_client.py --addr 127.0.0.1:7400 \
        --ca ca.pem availability
    PYTHONPATH=gen python3 proto/python/casehub_client.py --addr 127.0.0.1:7400 \
        --ca ca.pem submit --case-id C-PY-1 --station S03 --category criminal_summons

The node is verified against the cluster CA (--ca, from `casehub cert ca`);
--cert and --key present a user certificate (`casehub cert user`). Only a
development node without TLS takes --insecure-plaintext.

Every command prints one JSON object on standard output; a gRPC error is
printed as {"error": CODE, "message": ...} with exit status 1.
"""

import argparse
import json
import sys
import time

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from casehub.v1 import casehub_pb2 as pb
from casehub.v1 import casehub_pb2_grpc as rpc


def ts(seconds):
    t = Timestamp()
    t.FromSeconds(int(seconds))
    return t


def availability(channel, args):
    stub = rpc.AvailabilityServiceStub(channel)
    now = time.time()
    reply = stub.GetAvailability(
        pb.GetAvailabilityRequest(
            site_id=args.site,
            window=pb.Interval(start=ts(now), end=ts(now + args.hours * 3600)),
        ),
        timeout=30,
    )
    return {
        "applied_index": reply.applied_index,
        "rooms": len(reply.rooms),
        "rooms_with_free_time": sum(1 for r in reply.rooms if r.free),
        "officers": len(reply.officers),
        "teams": len(reply.teams),
        "sites": sorted({r.site_id for r in reply.rooms}),
    }


def submit(channel, args):
    stub = rpc.DispatchServiceStub(channel)
    case = pb.Case(
        case_id=args.case_id,
        origin_station_id=args.station,
        clock_started_at=ts(time.time() - 600),
        category=args.category,
        persons=[pb.Person(person_id="P1", gender=args.gender, juvenile=False)],
    )
    meta = pb.WriteMeta(
        client_id="python-client",
        request_id=int(time.time() * 1000),
        actor="python dispatcher",
    )
    reply = stub.SubmitCase(pb.SubmitCaseRequest(meta=meta, case=case), timeout=60)
    plan = json.loads(reply.plan_json)
    return {
        "applied_index": reply.applied_index,
        "summary": list(reply.summary),
        "blocked": [b.case_id for b in reply.blocked],
        "sites": [c["site"] for c in plan["cases"]],
        "versions": len(reply.versions),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--addr", default="127.0.0.1:7400")
    p.add_argument("--ca", help="the cluster CA certificate (PEM)")
    p.add_argument("--cert", help="a user certificate to present (PEM)")
    p.add_argument("--key", help="the user certificate's private key (PEM)")
    p.add_argument("--insecure-plaintext", action="store_true",
                   help="a development node without TLS")
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("availability")
    a.add_argument("--site", default="")
    a.add_argument("--hours", type=int, default=8)
    s = sub.add_parser("submit")
    s.add_argument("--case-id", required=True)
    s.add_argument("--station", required=True)
    s.add_argument("--category", default="criminal_summons")
    s.add_argument("--gender", default="male")
    args = p.parse_args()
    if args.insecure_plaintext:
        channel = grpc.insecure_channel(args.addr)
    else:
        if not args.ca:
            p.error("--ca is required to verify the node (or --insecure-plaintext for a development node)")
        if bool(args.cert) != bool(args.key):
            p.error("--cert and --key go together")
        def read(path):
            with open(path, "rb") as f:
                return f.read()
        creds = grpc.ssl_channel_credentials(
            root_certificates=read(args.ca),
            private_key=read(args.key) if args.key else None,
            certificate_chain=read(args.cert) if args.cert else None,
        )
        channel = grpc.secure_channel(args.addr, creds)
    with channel:
        try:
            out = {"availability": availability, "submit": submit}[args.command](channel, args)
        except grpc.RpcError as e:
            print(json.dumps({"error": e.code().name, "message": e.details()}))
            return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
