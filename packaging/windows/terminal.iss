; Inno Setup script of the terminal's Windows installer (Inno Setup 6).
; packaging/windows/build.ps1 runs it after PyInstaller has made dist\terminal\:
;   iscc /DAppVersion=0.1.0 packaging\windows\terminal.iss
; Paths are relative to this file. The installer asks for no administrator
; rights: it installs for the current user unless the user chooses all users.

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z terminal.iss
#endif
#define AppName "Terminal"
#define AppExe "terminal.exe"

[Setup]
; the installer's identity: keep it, or upgrades install beside the old version
AppId={{6F0B7C52-3E8A-4C1D-9B52-7A1E2D4C9F31}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=The Terminal authors
AppCopyright=Copyright (c) the Terminal authors. MIT licence.
VersionInfoVersion={#AppVersion}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
SetupIconFile=..\icons\terminal.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName} {#AppVersion}
OutputDir=..\..\dist
OutputBaseFilename=terminal-{#AppVersion}-windows-x64-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
; the whole one-folder build: terminal.exe (the window), terminal-cli.exe (the
; same program with a console, for --self-test and --version) and _internal\
Source: "..\..\dist\terminal\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; bytecode a frozen app may leave beside the sources (never settings or data,
; which live in the user's profile)
Type: filesandordirs; Name: "{app}\_internal\terminal\backtest\__pycache__"
