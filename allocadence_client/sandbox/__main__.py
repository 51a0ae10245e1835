"""Run the sandbox in the foreground: `python -m allocadence_client.sandbox --port 8765 --demo`."""

from __future__ import annotations

import argparse

from .server import AllocadenceSandbox


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Allocadence REST API on loopback")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--api-key", default="sandbox-key")
    parser.add_argument("--api-secret", default="sandbox-secret")
    parser.add_argument("--state-path", default=None, help="JSON file that keeps orders across restarts")
    parser.add_argument("--tick-seconds", type=float, default=None, help="advance open orders every N seconds")
    parser.add_argument("--demo", action="store_true", help="load a small demo account when no state exists")
    parser.add_argument("--bench-rows", type=int, default=0, help="load N SKU x warehouse rows (5 warehouses)")
    args = parser.parse_args(argv)
    sandbox = AllocadenceSandbox(
        args.host, args.port, args.api_key, args.api_secret, args.state_path, tick_seconds=args.tick_seconds
    )
    if args.bench_rows:
        sandbox.load_state(warehouses=[{"id": w, "name": f"Warehouse {w}"} for w in range(1, 6)])
        sandbox.bulk_set_inventory((f"SKU-{n // 5:06d}", n % 5 + 1, n % 97, n % 13) for n in range(args.bench_rows))
    elif args.demo and not sandbox.state.warehouses:
        sandbox.load_demo_state()
    sandbox.start()
    print(f"Allocadence sandbox listening on {sandbox.base_url}", flush=True)
    sandbox.serve_forever()


if __name__ == "__main__":
    main()
