"""Build certdesk's installers for the platform this runs on into dist/, then smoke-test the frozen program.

    python packaging/build.py              # what `make package` runs
    python packaging/build.py --no-build   # smoke-test what dist/ already holds

Linux: dist/certdesk-<version>-linux-<arch>.tar.gz and dist/certdesk_<version>_<debarch>.deb.
Windows: dist/certdesk-<version>-windows-x64.zip and, with Inno Setup's ISCC, the setup program.
macOS: dist/certdesk.app and dist/certdesk-<version>-macos-<arch>.dmg.
Any failure stops the build with a line saying what failed, and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
DIST = ROOT / "dist"
BUILD = ROOT / "build"
SPEC = PACKAGING / "certdesk.spec"
APP_SVG = ROOT / "certdesk" / "resources" / "icons" / "app.svg"
DESKTOP_FILE = ROOT / "resources" / "certdesk.desktop"
LAUNCHER = PACKAGING / "linux" / "certdesk-launcher"
ISS = PACKAGING / "windows" / "certdesk.iss"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
SMOKE_CERTIFICATES = 3
DEFAULT_MAINTAINER = "The certdesk developers <certdesk@users.noreply.github.com>"
# Sonames glibc provides: the .deb asks for libc6 of at least the build machine's version instead.
GLIBC_SONAMES = {
    "libc.so.6",
    "libm.so.6",
    "libdl.so.2",
    "libpthread.so.0",
    "librt.so.1",
    "libresolv.so.2",
    "libutil.so.1",
    "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1",
}


class BuildError(Exception):
    """A step failed; the message says which and why."""


def step(text: str) -> None:
    print(f"==> {text}", flush=True)


def run(
    command: Sequence[str | Path], env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command; a non-zero exit becomes a BuildError that shows its output."""
    printable = " ".join(str(part) for part in command)
    result = subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        env=env,
        cwd=cwd,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise BuildError(f"`{printable}` exited with {result.returncode}:\n{output[-4000:]}")
    return result


def project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as stream:
        version = tomllib.load(stream)["project"]["version"]
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed_version

    try:
        installed = installed_version("certdesk")
    except PackageNotFoundError:
        raise BuildError("certdesk is not installed in this Python: run `make package`.") from None
    if installed != version:
        raise BuildError(
            f"pyproject.toml says {version} but the installed certdesk metadata says {installed}: "
            "reinstall (pip install -e .) so the frozen program reports the right version."
        )
    return str(version)


def machine() -> str:
    arch = platform.machine().lower()
    return {"amd64": "x86_64", "x64": "x86_64", "aarch64": "arm64"}.get(arch, arch)


# ---------------------------------------------------------------------------------------------- icons


def render_app_icon(sizes: Sequence[int]) -> dict[int, bytes]:
    """The application icon as PNG bytes at each size, drawn from the SVG with Qt's SVG renderer."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(QByteArray(APP_SVG.read_bytes()))
    if not renderer.isValid():
        raise BuildError(f"{APP_SVG} is not an SVG Qt can draw.")
    pngs: dict[int, bytes] = {}
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")
        pngs[size] = bytes(buffer.data().data())
    del _app
    return pngs


def write_ico(pngs: dict[int, bytes], path: Path) -> Path:
    """A Windows .ico holding PNG images (Vista and later read them)."""
    sizes = sorted(size for size in pngs if size <= 256)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, images = b"", b""
    for size in sizes:
        data = pngs[size]
        entries += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(data), offset + len(images))
        images += data
    path.write_bytes(header + entries + images)
    return path


def write_icns(pngs: dict[int, bytes], path: Path) -> Path:
    """A macOS .icns holding PNG images (ic07 128 px to ic10 1024 px, 'ic10' being 512@2x)."""
    types = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08", 512: b"ic09"}
    chunks = b"".join(kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size] for size, kind in types.items())
    path.write_bytes(b"icns" + struct.pack(">I", 8 + len(chunks)) + chunks)
    return path


# ---------------------------------------------------------------------------------------------- freeze


def freeze(version: str, icons: dict[str, Path]) -> None:
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        raise BuildError("PyInstaller is not installed: run `make package` or pip install -e '.[package]'.") from None
    step("Freezing certdesk with PyInstaller (packaging/certdesk.spec)")
    env = {**os.environ, "CERTDESK_VERSION": version}
    if "ico" in icons:
        env["CERTDESK_ICO"] = str(icons["ico"])
    if "icns" in icons:
        env["CERTDESK_ICNS"] = str(icons["icns"])
    for leftover in (DIST / "certdesk", DIST / "certdesk.app"):
        shutil.rmtree(leftover, ignore_errors=True)
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN"]
    run([*command, "--distpath", DIST, "--workpath", BUILD / "pyinstaller", SPEC], env=env, cwd=ROOT)


def folder_size(path: Path) -> int:
    return sum(item.lstat().st_size for item in path.rglob("*") if item.is_file() or item.is_symlink())


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


# ---------------------------------------------------------------------------------------------- Linux


def elf_files(folder: Path) -> list[Path]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as stream:
                if stream.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def needed_sonames(path: Path) -> set[str]:
    output = run(["readelf", "-d", "--wide", path]).stdout
    return {line.split("[", 1)[1].split("]", 1)[0] for line in output.splitlines() if "(NEEDED)" in line}


def system_library_paths() -> dict[str, str]:
    """soname -> path for the machine's own architecture, from the dynamic linker's cache."""
    ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"
    wanted = {"x86_64": "x86-64", "arm64": "AArch64"}.get(machine(), "")
    paths: dict[str, str] = {}
    for line in run([ldconfig, "-p"]).stdout.splitlines()[1:]:
        if "=>" not in line:
            continue
        left, path = line.rsplit("=>", 1)
        soname, _, flags = left.strip().partition(" ")
        if wanted and wanted not in flags and "libc6" in flags and "," in flags:
            continue  # another architecture's copy (i386, x32)
        paths.setdefault(soname, path.strip())
    return paths


def owning_package(path: str) -> str | None:
    real = os.path.realpath(path)
    candidates = {path, real}
    for item in list(candidates):
        if item.startswith("/usr/lib/"):
            candidates.add(item[len("/usr") :])
        elif item.startswith("/lib/"):
            candidates.add("/usr" + item)
    for candidate in sorted(candidates):
        result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True, check=False)
        if result.returncode == 0 and result.stdout.strip():
            return result.stdout.split(":", 1)[0].split(",")[0].strip()
    return None


def deb_depends(folder: Path) -> tuple[list[str], set[str]]:
    """The Debian packages of the system libraries the bundle links and does not carry, and those sonames."""
    present = {path.name for path in folder.rglob("*")}
    needed: set[str] = set()
    for path in elf_files(folder):
        needed |= needed_sonames(path)
    external = sorted(needed - present)
    libraries = system_library_paths()
    unresolved = [soname for soname in external if soname not in libraries and soname not in GLIBC_SONAMES]
    if unresolved:
        raise BuildError(
            "The bundle links system libraries this build machine does not have, so the .deb's dependencies "
            f"cannot be worked out: {', '.join(unresolved)}. Install them (Debian/Ubuntu: apt-get install the "
            "packages named in README.md, 'Build the installers') and build again."
        )
    glibc = os.confstr("CS_GNU_LIBC_VERSION") or "glibc 2.31"
    packages = {f"libc6 (>= {glibc.split()[-1]})"}
    for soname in external:
        if soname in GLIBC_SONAMES:
            continue
        package = owning_package(libraries[soname])
        if package is None:
            raise BuildError(f"No installed Debian package owns {libraries[soname]} ({soname}).")
        if package != "libc6":
            packages.add(package)
    return sorted(packages, key=lambda name: (not name.startswith("libc6 "), name)), set(external)


def linux_extras(folder: Path) -> None:
    """The launcher with its library pre-flight, the .desktop file and the icon, beside the program."""
    shutil.copy2(LAUNCHER, folder / "certdesk-launcher")
    (folder / "certdesk-launcher").chmod(0o755)
    shutil.copy2(DESKTOP_FILE, folder / "certdesk.desktop")
    shutil.copy2(APP_SVG, folder / "certdesk.svg")


def make_tarball(folder: Path, version: str) -> Path:
    target = DIST / f"certdesk-{version}-linux-{machine()}.tar.gz"
    step(f"Writing {target.relative_to(ROOT)}")

    def normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    with tarfile.open(target, "w:gz", compresslevel=9) as archive:
        archive.add(folder, arcname=f"certdesk-{version}", filter=normalise)
    return target


def make_deb(folder: Path, version: str, pngs: dict[int, bytes]) -> Path:
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    target = DIST / f"certdesk_{version}_{arch}.deb"
    step(f"Writing {target.relative_to(ROOT)}")
    depends, _ = deb_depends(folder)
    stage = BUILD / "deb" / "root"
    shutil.rmtree(stage.parent, ignore_errors=True)
    shutil.copytree(folder, stage / "opt" / "certdesk", symlinks=True)
    (stage / "usr" / "bin").mkdir(parents=True)
    (stage / "usr" / "bin" / "certdesk").symlink_to("/opt/certdesk/certdesk-launcher")
    applications = stage / "usr" / "share" / "applications"
    applications.mkdir(parents=True)
    shutil.copy2(DESKTOP_FILE, applications / "certdesk.desktop")
    hicolor = stage / "usr" / "share" / "icons" / "hicolor"
    (hicolor / "scalable" / "apps").mkdir(parents=True)
    shutil.copy2(APP_SVG, hicolor / "scalable" / "apps" / "certdesk.svg")
    for size, data in pngs.items():
        (hicolor / f"{size}x{size}" / "apps").mkdir(parents=True)
        (hicolor / f"{size}x{size}" / "apps" / "certdesk.png").write_bytes(data)
    docs = stage / "usr" / "share" / "doc" / "certdesk"
    docs.mkdir(parents=True)
    (docs / "copyright").write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        "Upstream-Name: certdesk\n\nFiles: *\nCopyright: The certdesk developers\nLicense: Apache-2.0\n"
        " On Debian systems, the full text of the Apache License 2.0 is in\n"
        " /usr/share/common-licenses/Apache-2.0.\n"
        " /opt/certdesk/_internal carries Qt, PySide6 (LGPL-3.0) and other libraries under their own licenses.\n",
        encoding="utf-8",
    )
    control = stage / "DEBIAN"
    control.mkdir()
    installed_kb = (folder_size(stage) + 1023) // 1024
    (control / "control").write_text(
        f"Package: certdesk\nVersion: {version}\nArchitecture: {arch}\n"
        f"Maintainer: {os.environ.get('CERTDESK_MAINTAINER', DEFAULT_MAINTAINER)}\n"
        f"Installed-Size: {installed_kb}\nDepends: {', '.join(depends)}\n"
        "Section: utils\nPriority: optional\n"
        "Description: desktop manager for trusted TLS certificates\n"
        " certdesk keeps the trusted TLS certificates of accounts, organizations and\n"
        " projects, and uses them in HashiCorp Vault connectors, from a window or the\n"
        " command line.\n",
        encoding="utf-8",
    )
    for path in [stage, *stage.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    target.unlink(missing_ok=True)
    run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", stage, target])
    print(f"    Depends: {', '.join(depends)}")
    return target


# ---------------------------------------------------------------------------------------------- Windows


def find_iscc() -> str | None:
    found = shutil.which("iscc") or shutil.which("ISCC")
    if found:
        return found
    for base in (os.environ.get("PROGRAMFILES(X86)"), os.environ.get("PROGRAMFILES")):
        if base and (Path(base) / "Inno Setup 6" / "ISCC.exe").exists():
            return str(Path(base) / "Inno Setup 6" / "ISCC.exe")
    return None


def make_zip(folder: Path, version: str) -> Path:
    target = DIST / f"certdesk-{version}-windows-x64.zip"
    step(f"Writing {target.relative_to(ROOT)}")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(folder.rglob("*")):
            archive.write(path, Path(f"certdesk-{version}") / path.relative_to(folder))
    return target


def make_setup(folder: Path, version: str, ico: Path) -> Path:
    iscc = find_iscc()
    if iscc is None:
        raise BuildError("Inno Setup's ISCC.exe was not found: install Inno Setup 6 (choco install innosetup).")
    step("Compiling the Inno Setup installer (packaging/windows/certdesk.iss)")
    run(
        [
            iscc,
            "/Qp",
            f"/DAppVersion={version}",
            f"/DSourceDir={folder}",
            f"/DIconFile={ico}",
            f"/DOutputDir={DIST}",
            ISS,
        ]
    )
    target = DIST / f"certdesk-{version}-windows-x64-setup.exe"
    if not target.exists():
        raise BuildError(f"ISCC finished but {target.name} is not in dist/.")
    return target


# ---------------------------------------------------------------------------------------------- macOS


def make_dmg(app: Path, version: str) -> Path:
    target = DIST / f"certdesk-{version}-macos-{machine()}.dmg"
    step(f"Writing {target.relative_to(ROOT)}")
    stage = BUILD / "dmg"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    run(["ditto", app, stage / "certdesk.app"])
    (stage / "Applications").symlink_to("/Applications")
    target.unlink(missing_ok=True)
    command = ["hdiutil", "create", "-volname", f"certdesk {version}", "-srcfolder", stage]
    run([*command, "-fs", "HFS+", "-format", "UDZO", "-ov", target])
    return target


# ---------------------------------------------------------------------------------------------- smoke test


def pem_bundle(path: Path, count: int) -> Path:
    """A PEM file of `count` self-signed certificates, made on the spot."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)
    pems = []
    for index in range(count):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"certdesk smoke test CA {index + 1}")])
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        pems.append(certificate.public_bytes(serialization.Encoding.PEM))
    path.write_bytes(b"".join(pems))
    return path


class SmokeTest:
    """Runs the frozen program headless on a throw-away home, database and log folder."""

    def __init__(self, version: str, scratch: Path) -> None:
        self.version = version
        self.scratch = scratch
        home = scratch / "home"
        self.env = {
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "HOME": str(home),
            "USERPROFILE": str(home),
            "APPDATA": str(home / "AppData" / "Roaming"),
            "LOCALAPPDATA": str(home / "AppData" / "Local"),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_STATE_HOME": str(home / "state"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "CERTDESK_LOG_DIR": str(scratch / "logs"),
            "CERTDESK_DATABASE": str(scratch / "smoke.db"),
        }
        for name in ("PYTHONPATH", "PYTHONHOME", "CERTDESK_DIAGNOSE", "QT_PLUGIN_PATH", "QT_QPA_PLATFORM_PLUGIN_PATH"):
            self.env.pop(name, None)
        home.mkdir(parents=True, exist_ok=True)

    def call(self, program: Path, *args: str, extra: dict[str, str] | None = None, expect: int = 0) -> str:
        shown = " ".join(["certdesk", *args])
        try:
            result = subprocess.run(
                [str(program), *args],
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                env={**self.env, **(extra or {})},
                cwd=self.scratch,
                timeout=180,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise BuildError(f"smoke test: `{shown}` did not finish within 180 s.") from None
        if result.returncode != expect:
            output = (result.stdout + result.stderr).strip()
            raise BuildError(f"smoke test: `{shown}` exited with {result.returncode}, not {expect}:\n{output[-3000:]}")
        return result.stdout

    def run_all(self, program: Path, label: str) -> None:
        step(f"Smoke-testing {label}")
        version_line = self.call(program, "--version").strip()
        if version_line != f"certdesk {self.version}":
            raise BuildError(f"smoke test: --version printed {version_line!r}, not 'certdesk {self.version}'.")
        print(f"    {version_line}")

        window = self.call(program, "--smoke-test")
        expected = f"certdesk {self.version} smoke test: main window shown"
        if expected not in window:
            raise BuildError(f"smoke test: the window check printed {window.strip()!r}, not {expected!r}.")
        print(f"    {expected}")

        self.check_diagnostics(program)

        self.call(program, "scope", "create", "acme")
        bundle = pem_bundle(self.scratch / "bundle.pem", SMOKE_CERTIFICATES)
        self.call(program, "cert", "import", "acme", str(bundle), "--json")
        listing = json.loads(self.call(program, "cert", "list", "acme", "--json"))
        if len(listing) != SMOKE_CERTIFICATES:
            raise BuildError(f"smoke test: cert list found {len(listing)} certificates, not {SMOKE_CERTIFICATES}.")
        print(f"    CLI: scope create, cert import of {SMOKE_CERTIFICATES} certificates, cert list --json: ok")
        Path(self.env["CERTDESK_DATABASE"]).unlink(missing_ok=True)

    def check_diagnostics(self, program: Path) -> None:
        report = json.loads(self.call(program, extra={"CERTDESK_DIAGNOSE": "1"}))
        problems = []
        if not report.get("frozen"):
            problems.append("the program does not know it is frozen")
        if report["versions"]["certdesk"] != self.version:
            problems.append(f"it reports version {report['versions']['certdesk']}")
        if "app" not in report.get("icons", []):
            problems.append(f"no app icon in its resource folder {report.get('resource_dir')}")
        if "svg" not in report.get("image_formats", []):
            problems.append("Qt's SVG image plugin is missing")
        keyring = report["keyring"]
        if not keyring["expected_found"]:
            problems.append(f"keyring backend {keyring['expected']} not found (found {keyring['discovered']})")
        database = report["default_database"]
        if not database.startswith("sqlite:") or not database.endswith("certdesk.db"):
            problems.append(f"odd default database {database}")
        if sys.platform.startswith("linux") and self.env["XDG_DATA_HOME"] not in database:
            problems.append(f"default database {database} ignores XDG_DATA_HOME")
        if problems:
            raise BuildError("smoke test: the frozen program's own report shows problems: " + "; ".join(problems))
        print(f"    resources: {report['resource_dir']} ({len(report['icons'])} icons)")
        print(f"    default database: {database}")
        print(f"    keyring: {keyring['expected']} discovered; in use here: {keyring['chosen']}")
        print(f"    versions: {', '.join(f'{key} {value}' for key, value in report['versions'].items())}")


def check_launcher(smoke: SmokeTest, launcher: Path) -> None:
    """The launcher passes commands through, and names the packages when a library is missing."""
    print(f"    launcher: {smoke.call(launcher, '--version').strip()}")
    fake = smoke.scratch / "fake-ldconfig"
    fake.mkdir(exist_ok=True)
    (fake / "ldconfig").write_text("#!/bin/sh\necho '0 libs found in cache'\n", encoding="utf-8")
    (fake / "ldconfig").chmod(0o755)
    env = {**smoke.env, "PATH": f"{fake}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("QT_QPA_PLATFORM")
    result = subprocess.run([str(launcher)], capture_output=True, text=True, env=env, timeout=60, check=False)
    if result.returncode != 69 or "sudo apt install" not in result.stderr or "libxcb-cursor0" not in result.stderr:
        raise BuildError(f"the launcher's library check did not speak up: exit {result.returncode}, {result.stderr!r}")
    print("    launcher: a missing libxcb-cursor.so.0 is reported with the apt command")


def check_real_display(smoke: SmokeTest, launcher: Path) -> None:
    """The window on a real X server (Xvfb) through the xcb plugin, when xvfb-run is installed."""
    xvfb_run = shutil.which("xvfb-run")
    if xvfb_run is None:
        print("    xvfb-run not installed (Debian: xvfb): the xcb platform plugin was not tried")
        return
    env = dict(smoke.env)
    env.pop("QT_QPA_PLATFORM")
    try:
        result = subprocess.run(
            [xvfb_run, "-a", str(launcher), "--smoke-test"],
            capture_output=True,
            text=True,
            env=env,
            cwd=smoke.scratch,
            timeout=180,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BuildError("smoke test: the window under Xvfb did not close within 180 s.") from None
    if result.returncode != 0 or "main window shown" not in result.stdout:
        output = (result.stdout + result.stderr).strip()
        raise BuildError(f"smoke test: the window under Xvfb (xcb) failed with exit {result.returncode}:\n{output}")
    print(f"    xcb under Xvfb: {result.stdout.strip()}")


KEYRING_ROUND_TRIP = """
set -e
printf 'smoke-test-password' | gnome-keyring-daemon --unlock --components=secrets >/dev/null
"$CERTDESK" scope create keyringcheck >/dev/null
"$CERTDESK" connector add-vault keyringcheck --name smoke --identifier smoke --url https://vault.invalid:8200 \
    --auth token --token-env CERTDESK_SMOKE_TOKEN >/dev/null
echo "stored: $(secret-tool search --all service certdesk 2>&1 | grep -c "^secret = $CERTDESK_SMOKE_TOKEN$")"
"$CERTDESK" connector delete keyringcheck smoke >/dev/null
echo "left: $(secret-tool search --all service certdesk 2>&1 | grep -c "^secret = " || true)"
"""


def check_secret_service(smoke: SmokeTest, program: Path) -> None:
    """A connector's token goes into a real Secret Service (gnome-keyring on a private D-Bus) and out again."""
    tools = ("dbus-run-session", "gnome-keyring-daemon", "secret-tool")
    if not all(shutil.which(tool) for tool in tools):
        print("    dbus-run-session, gnome-keyring-daemon or secret-tool missing: Secret Service round trip skipped")
        return
    token = "hvs.certdesk-smoke-" + os.urandom(6).hex()
    env = {**smoke.env, "CERTDESK": str(program), "CERTDESK_SMOKE_TOKEN": token}
    env["CERTDESK_DATABASE"] = str(smoke.scratch / "keyring.db")
    try:
        result = subprocess.run(
            ["dbus-run-session", "--", "sh", "-c", KEYRING_ROUND_TRIP],
            capture_output=True,
            text=True,
            env=env,
            cwd=smoke.scratch,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BuildError("smoke test: the Secret Service round trip did not finish within 120 s.") from None
    if result.returncode != 0 or "stored: 1" not in result.stdout or "left: 0" not in result.stdout:
        output = (result.stdout + result.stderr).strip()
        code = result.returncode
        raise BuildError(f"smoke test: the frozen program's keyring round trip failed (exit {code}):\n{output}")
    print("    keyring: a connector token was stored in and removed from gnome-keyring through SecretService")


def check_deb(deb: Path, smoke: SmokeTest) -> None:
    step(f"Checking {deb.name} in a scratch root (dpkg -x)")
    root = smoke.scratch / "deb-root"
    run(["dpkg-deb", "-x", deb, root])
    info = run(["dpkg-deb", "-f", deb, "Package", "Version", "Depends"]).stdout
    if f"Version: {smoke.version}" not in info:
        raise BuildError(f"{deb.name} has the wrong version:\n{info}")
    link = root / "usr" / "bin" / "certdesk"
    if not link.is_symlink() or os.readlink(link) != "/opt/certdesk/certdesk-launcher":
        raise BuildError("/usr/bin/certdesk in the .deb is not a symlink to /opt/certdesk/certdesk-launcher.")
    desktop = root / "usr" / "share" / "applications" / "certdesk.desktop"
    icon = root / "usr" / "share" / "icons" / "hicolor" / "scalable" / "apps" / "certdesk.svg"
    for path in (desktop, icon, root / "usr" / "share" / "icons" / "hicolor" / "48x48" / "apps" / "certdesk.png"):
        if not path.is_file():
            raise BuildError(f"{path.relative_to(root)} is missing from the .deb.")
    if "Icon=certdesk" not in desktop.read_text(encoding="utf-8"):
        raise BuildError("the .desktop file in the .deb does not say Icon=certdesk.")
    validator = shutil.which("desktop-file-validate")
    if validator:
        run([validator, desktop])
        print("    desktop-file-validate: no complaints")
    else:
        print("    desktop-file-validate not installed (Debian: desktop-file-utils); skipped")
    print("    /usr/bin/certdesk -> /opt/certdesk/certdesk-launcher, .desktop and hicolor icons: ok")
    launcher = root / "opt" / "certdesk" / "certdesk-launcher"
    smoke.run_all(launcher, f"{deb.name} unpacked, through its launcher")
    check_launcher(smoke, launcher)
    check_real_display(smoke, launcher)
    check_secret_service(smoke, launcher)


# ---------------------------------------------------------------------------------------------- main


def build_linux(version: str, build: bool, smoke: SmokeTest) -> list[Path]:
    folder = DIST / "certdesk"
    pngs = render_app_icon(PNG_SIZES)
    if build:
        freeze(version, {})
        linux_extras(folder)
    bundle_size = folder_size(folder)
    smoke.run_all(folder / "certdesk", "dist/certdesk/certdesk")
    if build:
        artefacts = [make_tarball(folder, version), make_deb(folder, version, pngs)]
    else:
        artefacts = [*DIST.glob(f"certdesk-{version}-linux-*.tar.gz"), *DIST.glob(f"certdesk_{version}_*.deb")]
    for deb in (path for path in artefacts if path.suffix == ".deb"):
        check_deb(deb, smoke)
    print(f"    folder dist/certdesk: {megabytes(bundle_size)}")
    return artefacts


def build_windows(version: str, build: bool, smoke: SmokeTest) -> list[Path]:
    folder = DIST / "certdesk"
    if build:
        ico = write_ico(render_app_icon((16, 24, 32, 48, 64, 128, 256)), BUILD / "certdesk.ico")
        freeze(version, {"ico": ico})
    smoke.run_all(folder / "certdesk-cli.exe", "dist/certdesk/certdesk-cli.exe")
    smoke.call(folder / "certdesk.exe", "--smoke-test")  # windowed: prints nothing, must exit 0
    print("    certdesk.exe (windowed) --smoke-test: exit 0")
    artefacts = sorted(DIST.glob("*.zip")) + sorted(DIST.glob("*-setup.exe"))
    if build:
        artefacts = [make_zip(folder, version), make_setup(folder, version, BUILD / "certdesk.ico")]
    print(f"    folder dist/certdesk: {megabytes(folder_size(folder))}")
    return artefacts


def build_macos(version: str, build: bool, smoke: SmokeTest) -> list[Path]:
    app = DIST / "certdesk.app"
    if build:
        BUILD.mkdir(exist_ok=True)
        icns = write_icns(render_app_icon((16, 32, 64, 128, 256, 512)), BUILD / "certdesk.icns")
        freeze(version, {"icns": icns})
    smoke.run_all(app / "Contents" / "MacOS" / "certdesk", "dist/certdesk.app")
    artefacts = [make_dmg(app, version)] if build else sorted(DIST.glob("*.dmg"))
    for dmg in artefacts:
        mount = smoke.scratch / "dmg"
        mount.mkdir()
        run(["hdiutil", "attach", "-nobrowse", "-readonly", "-mountpoint", mount, dmg])
        try:
            smoke.run_all(mount / "certdesk.app" / "Contents" / "MacOS" / "certdesk", f"{dmg.name}, mounted")
        finally:
            run(["hdiutil", "detach", mount])
    print(f"    dist/certdesk.app: {megabytes(folder_size(app))}")
    return artefacts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-build", action="store_true", help="smoke-test what dist/ already holds")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        version = project_version()
        DIST.mkdir(exist_ok=True)
        BUILD.mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="certdesk-smoke-") as scratch:
            smoke = SmokeTest(version, Path(scratch))
            if sys.platform.startswith("linux"):
                artefacts = build_linux(version, not args.no_build, smoke)
            elif sys.platform == "win32":
                artefacts = build_windows(version, not args.no_build, smoke)
            elif sys.platform == "darwin":
                artefacts = build_macos(version, not args.no_build, smoke)
            else:
                raise BuildError(f"no installer is defined for {sys.platform}.")
    except BuildError as error:
        print(f"\nbuild.py: FAILED: {error}", file=sys.stderr)
        return 1
    step(f"Done in {time.monotonic() - started:.0f} s")
    for artefact in artefacts:
        print(f"    {artefact.relative_to(ROOT)}: {megabytes(artefact.stat().st_size)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
