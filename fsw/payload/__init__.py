"""What partners touch: the payload app SDK, manifests, bundles and the sandbox.

A partner's app imports only from here::

    from fsw.payload import PayloadApp, on_command, CommandFailedError
"""

from fsw.payload.sdk import (
    CommandFailedError,
    DeviceNotGrantedError,
    PayloadApp,
    Storage,
    StorageQuotaError,
    on_command,
)

__all__ = ["CommandFailedError", "DeviceNotGrantedError", "PayloadApp", "Storage",
           "StorageQuotaError", "on_command"]
