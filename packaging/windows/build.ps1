# Builds the Windows installer of the terminal (run from any folder, in PowerShell):
#
#   packaging\windows\build.ps1
#
#   dist\terminal\                                  the one-folder build (terminal.exe, terminal-cli.exe)
#   dist\terminal-VERSION-windows-x64.zip           that folder, zipped
#   dist\terminal-VERSION-windows-x64-setup.exe     the Inno Setup installer
#
# Needs Python >= 3.12 (TERMINAL_PYTHON, else `py -3.12`, else `python`), MSVC
# (Visual Studio's C++ build tools, as on GitHub's Windows runners) for the
# backtest kernels, and Inno Setup 6 (iscc.exe; installed with Chocolatey when
# missing). Run by .github/workflows/installers.yml; not run on the Linux
# machine this was written on.
$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest
$root = Resolve-Path (Join-Path $PSScriptRoot "..\..")
Set-Location $root

function Invoke-Checked([string]$exe, [string[]]$arguments) {
    & $exe @arguments
    if ($LASTEXITCODE -ne 0) { throw "$exe $($arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

# -- the environment: .venv with the runtime dependencies and the pinned PyInstaller
$python = $env:TERMINAL_PYTHON
$pyArgs = @()
if (-not $python) {
    if (Get-Command py -ErrorAction SilentlyContinue) { $python = "py"; $pyArgs = @("-3.12") } else { $python = "python" }
}
if (-not (Test-Path ".venv\Scripts\python.exe")) {
    Invoke-Checked $python ($pyArgs + @("-m", "venv", ".venv"))
}
$py = Join-Path $root ".venv\Scripts\python.exe"
Invoke-Checked $py @("-c", "import sys; assert sys.version_info >= (3, 12), sys.version")
Invoke-Checked $py @("-m", "pip", "install", "--quiet", "--upgrade", "pip")
# The versions of requirements.lock, without its hashes: the lock is resolved on Linux
# and has neither Windows' own dependencies nor their hashes (packaging/README.md)
New-Item -ItemType Directory -Force build | Out-Null
Get-Content requirements.lock | Where-Object { $_ -match '^[A-Za-z0-9]' } |
    ForEach-Object { ($_ -split ' ')[0] } | Set-Content -Encoding ascii build\constraints.txt
Invoke-Checked $py @("-m", "pip", "install", "--quiet", "-c", "build\constraints.txt", ".", "-r", "packaging\requirements.txt")
$version = (& $py packaging\metadata.py version).Trim()
Write-Host "build-windows: terminal $version"

# -- the backtest kernels, compiled ahead of time (MSVC): the spec takes them from
# build\aot\ and leaves numba and llvmlite out
Invoke-Checked $py @("packaging\aot_kernels.py")

# -- the one-folder build, checked by its own self-test
if (Test-Path dist\terminal) { Remove-Item -Recurse -Force dist\terminal }
Invoke-Checked $py @("-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "--distpath", "dist", "--workpath", "build\pyinstaller", "packaging\terminal.spec")
$env:QT_QPA_PLATFORM = "offscreen"
Invoke-Checked "dist\terminal\terminal-cli.exe" @("--self-test")
Remove-Item Env:\QT_QPA_PLATFORM
$size = (Get-ChildItem -Recurse -File dist\terminal | Measure-Object -Property Length -Sum).Sum / 1e6
Write-Host ("build-windows: dist\terminal is {0:N1} MB" -f $size)

# -- zip and installer
$zip = "dist\terminal-$version-windows-x64.zip"
if (Test-Path $zip) { Remove-Item $zip }
Compress-Archive -Path dist\terminal -DestinationPath $zip
$iscc = Get-Command iscc.exe -ErrorAction SilentlyContinue
if ($iscc) { $iscc = $iscc.Source } else { $iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
if (-not (Test-Path $iscc)) {
    Invoke-Checked choco @("install", "innosetup", "--no-progress", "-y")
    $iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe"
}
Invoke-Checked $iscc @("/Qp", "/DAppVersion=$version", "packaging\windows\terminal.iss")
Get-ChildItem dist\*.zip, dist\*-setup.exe | ForEach-Object { Write-Host ("build-windows: {0} {1:N1} MB" -f $_.Name, ($_.Length / 1e6)) }
