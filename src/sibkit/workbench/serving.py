"""Where the workbench may listen: beyond this machine only when the study has accounts."""

from __future__ import annotations

import ipaddress
from typing import Any

from sibkit.errors import SibkitError


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_binding(study: Any, host: str) -> None:
    """Refuse to serve a study's workbench beyond 127.0.0.1 while nobody has to sign in."""
    if is_loopback_host(host):
        return
    from sibkit.corpus import open_study_store
    from sibkit.words import counted
    from sibkit.workbench.auth import has_accounts, list_users

    store = open_study_store(study)
    if not has_accounts(store):
        disabled = int(list_users(store)["disabled"].sum())
        if disabled:
            raise SibkitError(f"--host {host}: every account of the review workbench is disabled "
                              f"({counted(disabled, 'account')}), so it serves this machine only (127.0.0.1); "
                              "add an account with `sibkit users add STUDY NAME --role admin` first")
        raise SibkitError(f"--host {host}: the review workbench has no accounts, so it serves this machine only "
                          "(127.0.0.1); add accounts with `sibkit users add STUDY NAME --role admin` first")
