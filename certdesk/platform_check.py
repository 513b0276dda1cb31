"""Checks of the platform certdesk runs on: system libraries the window needs, and a support report."""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Shared libraries Qt's xcb platform plugin loads from the system on Linux (the bundle does not carry
# them: they belong to the display stack), with the Debian/Ubuntu package that provides each.
LINUX_WINDOW_LIBRARIES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}
# Platforms that draw nowhere and so need none of the display libraries.
HEADLESS_PLATFORMS = {"offscreen", "minimal", "vnc"}


@dataclass(frozen=True)
class MissingLibrary:
    soname: str
    package: str


def _loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def missing_window_libraries(
    loads: Callable[[str], bool] = _loads,
    platform: str = sys.platform,
    environ: dict[str, str] | None = None,
) -> list[MissingLibrary]:
    """The system libraries the window needs that cannot be loaded; empty off Linux or when headless."""
    env = os.environ if environ is None else environ
    if not platform.startswith("linux"):
        return []
    qpa = env.get("QT_QPA_PLATFORM", "").split(":")[0].strip()
    if qpa in HEADLESS_PLATFORMS:
        return []
    return [MissingLibrary(soname, package) for soname, package in LINUX_WINDOW_LIBRARIES.items() if not loads(soname)]


def missing_libraries_message(missing: list[MissingLibrary]) -> str:
    names = ", ".join(item.soname for item in missing)
    packages = " ".join(sorted({item.package for item in missing}))
    return (
        f"certdesk cannot open its window: these system libraries are missing: {names}. "
        f"On Debian or Ubuntu, install them with: sudo apt install {packages} "
        "(other distributions name the packages after the same libraries). "
        "The command line (certdesk --help) works without them."
    )


def window_libraries_problem() -> str | None:
    """A message for the person when the window cannot start for lack of a library, else None.

    Meant to be called before QApplication is created, so the person reads a sentence instead of
    Qt's abort on a missing xcb dependency.
    """
    display = no_display_problem()
    if display:
        return display
    missing = missing_window_libraries()
    return missing_libraries_message(missing) if missing else None


def no_display_problem(platform: str = sys.platform, environ: dict[str, str] | None = None) -> str | None:
    """On Linux with no X11 or Wayland display to show a window on, say so (Qt would abort)."""
    env = os.environ if environ is None else environ
    if not platform.startswith("linux"):
        return None
    qpa = env.get("QT_QPA_PLATFORM", "").split(":")[0].strip()
    if qpa and qpa not in {"xcb", "wayland", "wayland-egl"}:
        return None  # offscreen, vnc, eglfs...: no desktop session needed
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return (
        "certdesk cannot open its window: there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set). "
        "Start it from a desktop session, or use the command line: certdesk --help."
    )


# The keyring backend each platform is expected to offer once frozen.
EXPECTED_KEYRING_BACKEND = {
    "linux": "keyring.backends.SecretService",
    "darwin": "keyring.backends.macOS",
    "win32": "keyring.backends.Windows",
}


def keyring_report() -> dict[str, Any]:
    """Which keyring backends were discovered (entry points), which can run here, and which is chosen."""
    from importlib.metadata import entry_points

    import keyring
    import keyring.backend

    discovered = sorted(entry.value for entry in entry_points(group="keyring.backends"))
    viable = sorted(
        f"{type(backend).__module__}.{type(backend).__name__}" for backend in keyring.backend.get_all_keyring()
    )
    chosen = keyring.get_keyring()
    platform_key = "linux" if sys.platform.startswith("linux") else sys.platform
    expected = EXPECTED_KEYRING_BACKEND.get(platform_key, "")
    return {
        "discovered": discovered,
        "viable": viable,
        "chosen": f"{type(chosen).__module__}.{type(chosen).__name__}",
        "expected": expected,
        "expected_found": expected in discovered,
    }


def diagnostics() -> dict[str, Any]:
    """What support asks for: versions, where resources and data live, the keyring, the Qt plugins."""
    from PySide6.QtCore import QLibraryInfo
    from PySide6.QtGui import QImageReader

    from certdesk.app import default_database_url, log_file
    from certdesk.ui.about import version_report
    from certdesk.ui.resources import resource_dir

    icons = resource_dir() / "icons"
    return {
        "versions": version_report(),
        "frozen": bool(getattr(sys, "frozen", False)),
        "executable": sys.executable,
        "resource_dir": str(resource_dir()),
        "icons": sorted(path.stem for path in icons.glob("*.svg")),
        "default_database": default_database_url(),
        "log_file": str(log_file()),
        "keyring": keyring_report(),
        "qt_plugins": QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath),
        "image_formats": sorted(bytes(fmt.data()).decode() for fmt in QImageReader.supportedImageFormats()),
        "missing_window_libraries": [item.soname for item in missing_window_libraries()],
    }
