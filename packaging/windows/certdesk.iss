; Inno Setup 6 script for certdesk's Windows installer. packaging/build.py compiles it after PyInstaller:
;   ISCC /DAppVersion=0.1.0 /DSourceDir=dist\certdesk /DIconFile=build\certdesk.ico /DOutputDir=dist certdesk.iss
; The installer asks whether to install for all users (admin) or only for the current user.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef SourceDir
  #define SourceDir AddBackslash(SourcePath) + "..\..\dist\certdesk"
#endif
#ifndef OutputDir
  #define OutputDir AddBackslash(SourcePath) + "..\..\dist"
#endif
#ifndef IconFile
  #define IconFile AddBackslash(SourcePath) + "..\..\build\certdesk.ico"
#endif

[Setup]
; The AppId identifies certdesk to Windows across versions: never change it.
AppId={{273D1648-A6A0-4D06-9462-E727D6D3B9A8}
AppName=certdesk
AppVersion={#AppVersion}
AppVerName=certdesk {#AppVersion}
AppPublisher=The certdesk developers
DefaultDirName={autopf}\certdesk
DefaultGroupName=certdesk
DisableProgramGroupPage=yes
PrivilegesRequired=admin
PrivilegesRequiredOverridesAllowed=dialog
UsedUserAreasWarning=no
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
Uninstallable=yes
UninstallDisplayName=certdesk {#AppVersion}
UninstallDisplayIcon={app}\certdesk.exe
SetupIconFile={#IconFile}
OutputDir={#OutputDir}
OutputBaseFilename=certdesk-{#AppVersion}-windows-x64-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\certdesk"; Filename: "{app}\certdesk.exe"; WorkingDir: "{app}"; Comment: "Manage trusted TLS certificates"
Name: "{group}\Uninstall certdesk"; Filename: "{uninstallexe}"
Name: "{autodesktop}\certdesk"; Filename: "{app}\certdesk.exe"; WorkingDir: "{app}"; Tasks: desktopicon

[Run]
Filename: "{app}\certdesk.exe"; Description: "{cm:LaunchProgram,certdesk}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Only what the program itself may leave in its own folder; the database and logs in the user's
; AppData folder are the person's data and stay.
Type: filesandordirs; Name: "{app}\_internal\__pycache__"
