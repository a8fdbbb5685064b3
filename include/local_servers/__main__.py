"""``python -m local_servers SCENARIO`` (``make servers``): both local servers, seeded from a scenario file.

The first line printed is ``okta=URL quicksight=URL`` (the QuickSight URL also
answers STS); the servers run until interrupted.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from local_servers import common
from local_servers.common import read_scenario


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_servers", description=__doc__.splitlines()[0])
    parser.add_argument("scenario", type=Path, help="a scenario file (docs/scenario-format.md)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 in a container)")
    parser.add_argument("--okta-port", type=int, default=0, help="Okta server port (default: any free port)")
    parser.add_argument("--quicksight-port", type=int, default=0, help="QuickSight + STS server port (default: any free port)")
    args = parser.parse_args(argv)
    scenario = read_scenario(args.scenario)
    if scenario is None:
        return 2

    common.BIND_HOST = args.host
    from local_servers.okta_server import OktaServer
    from local_servers.quicksight_server import QuickSightServer

    faults, limits = scenario.get("faults") or [], scenario.get("limits") or {}
    app_id = (scenario.get("target") or {}).get("okta_app_id")
    window = {"window_s": float(limits["okta_window_s"])} if limits.get("okta_window_s") else {}
    okta = OktaServer(scenario.get("okta", {}), faults, limits, app_id=app_id, port=args.okta_port, **window)
    quicksight = QuickSightServer(scenario.get("quicksight", {}), faults, limits, port=args.quicksight_port)
    okta_url, qs_url = okta.start(), quicksight.start()
    print(f"okta={okta_url} quicksight={qs_url}", flush=True)
    token = scenario.get("okta", {}).get("api_token", "local-test-token")
    print(f"Okta SSWS token: {token}; QuickSight accepts any AWS credentials. Ctrl-C stops.", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    okta.stop()
    quicksight.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
