"""Run the application under the configured ASGI server.

granian is the default: its HTTP parser reads request bodies with less CPU than uvicorn's,
and it implements the ASGI `pathsend` extension, which `registry.downloads` uses for blob
downloads beyond its buffered ones. uvicorn (uvloop, httptools) remains available.
"""

from __future__ import annotations

import os
from pathlib import Path

from registry.config import Config


def _granian(config_path: str | None, host: str, port: int, config: Config) -> None:
    from granian import Granian
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels

    if config_path:
        os.environ["MODELYARD_CONFIG"] = str(Path(config_path).resolve())
    Granian(
        "registry.app:app_from_environment",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=1,
        log_level=LogLevels(config.log.level.lower()),
        log_access=False,
        backlog=1024,
        http1_settings=HTTP1Settings(max_buffer_size=config.http.read_buffer_size),
    ).serve()


def _uvicorn(host: str, port: int, config: Config) -> None:
    import uvicorn

    from registry.app import create_app

    uvicorn.run(
        create_app(config),
        host=host,
        port=port,
        access_log=False,
        log_config=None,
        timeout_keep_alive=30,
    )


def serve(config: Config, config_path: str | None, host: str, port: int) -> None:
    if config.http.server == "granian":
        _granian(config_path, host, port, config)
    else:
        _uvicorn(host, port, config)
