"""`python -m streams`: the stream worker with settings from the environment only (`hcp worker` has flags)."""

from __future__ import annotations

import sys

from hcp.exceptions import ConfigError
from hcp.fleet import load_fleet
from hcp.settings import BrokerSettings, FleetSettings, StorageSettings, WorkerSettings, load_settings
from streams.worker import run_worker


def main() -> None:
    try:
        fleet = load_fleet(load_settings(FleetSettings).file)
        settings = (load_settings(WorkerSettings), load_settings(BrokerSettings), load_settings(StorageSettings))
    except ConfigError as err:
        sys.exit(f"hcp streams: {err}")
    run_worker(*settings, fleet)


if __name__ == "__main__":
    main()
