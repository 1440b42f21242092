"""Run amqtt as a broker process: ``python -m fleetcare.embedded.amqtt_runner CONFIG.json``.

``AmqttProcess`` starts this in a child process, for machines without Mosquitto.
amqtt's own script turns SIGINT into a KeyboardInterrupt inside whatever callback runs;
this shuts the broker down from a signal handler instead. Its AnonymousAuthPlugin marks
every session "anonymous", and amqtt queues nothing for an offline anonymous session
(persistent or not): AcceptAll lets everyone in without that.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys

from amqtt.broker import Broker
from amqtt.plugins.base import BaseAuthPlugin


class AcceptAll(BaseAuthPlugin):
    """Lets every client in as itself (broker.AMQTT_ACCEPT_ALL names it in the config)."""

    async def authenticate(self, *, session: object) -> bool:
        return True


async def serve(config_path: str) -> None:
    """Run the broker configured in ``config_path`` until SIGTERM or SIGINT."""
    with open(config_path) as fh:
        broker = Broker(json.load(fh))
    await broker.start()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await broker.shutdown()


def main() -> None:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("transitions").setLevel(logging.WARNING)
    asyncio.run(serve(sys.argv[1]))


if __name__ == "__main__":
    main()
