# One command to set up and run the app (.\setup.ps1 run) or the test suite (.\setup.ps1 test) on Windows.
# Mirrors setup.sh: creates .venv, installs pinned requirements, makes data and the model if missing.
# The arguments are read from $args, with no param() block: declared parameters make the script an advanced one, in
# which pytest's own options were taken for PowerShell's (-v for -Verbose, -m for -Mode) and never reached pytest.
$Mode = if ($args.Count -gt 0) { [string]$args[0] } else { "run" }
$PytestArgs = @($args | Select-Object -Skip 1)
if ($Mode -notin @("run", "test", "setup")) {
    [Console]::Error.WriteLine("usage: .\setup.ps1 [run|test|setup] [extra args for pytest]")
    exit 64
}
$ErrorActionPreference = "Stop"
Set-Location -Path $PSScriptRoot

function Say($message) { Write-Host "==> $message" }

function Find-Python {
    $candidates = @()
    if ($env:PYTHON) { $candidates += , @($env:PYTHON) }
    $candidates += , @("py", "-3")
    $candidates += , @("python3")
    $candidates += , @("python")
    foreach ($candidate in $candidates) {
        $exe = $candidate[0]
        $rest = @($candidate | Select-Object -Skip 1)
        if (-not (Get-Command $exe -ErrorAction SilentlyContinue)) { continue }
        & $exe @rest -c "import sys; sys.exit(sys.version_info < (3, 11))" 2>$null
        if ($LASTEXITCODE -eq 0) { return , $candidate }
    }
    throw "Python 3.11 or newer is required (set PYTHON to its path)"
}

$Py = ".venv\Scripts\python.exe"
if (-not (Test-Path $Py)) {
    Say "creating virtual environment in .venv"
    $boot = Find-Python
    $bootArgs = @($boot | Select-Object -Skip 1)
    & $boot[0] @bootArgs -m venv .venv
    if ($LASTEXITCODE -ne 0) { throw "could not create .venv" }
}

$reqFiles = @("requirements.txt")
if ($Mode -eq "test") { $reqFiles += "requirements-dev.txt", "requirements-dask.txt", "requirements-deploy.txt" }
$stamp = ".venv\.installed-$Mode"
$digest = (Get-FileHash -Algorithm SHA256 -InputStream ([IO.MemoryStream]::new([Text.Encoding]::UTF8.GetBytes(($reqFiles | ForEach-Object { Get-Content $_ -Raw }) -join "")))).Hash
if (-not (Test-Path $stamp) -or (Get-Content $stamp) -ne $digest) {
    Say "installing $($reqFiles -join ', ')"
    & $Py -m pip install --disable-pip-version-check --progress-bar off --upgrade pip
    $pipArgs = $reqFiles | ForEach-Object { "-r", $_ }
    & $Py -m pip install --disable-pip-version-check --progress-bar off @pipArgs
    if ($LASTEXITCODE -ne 0) { throw "pip install failed" }
    Set-Content -Path $stamp -Value $digest
}

# A refused setting stops here with one line each (exit 2), before anything reads the settings.
& $Py -c "from app.core.setting_errors import settings_or_exit; settings_or_exit()"
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }

if (-not (Test-Path "data\raw\mall_customers.csv")) {
    Say "generating the synthetic dataset"
    & $Py -m app.models.synthetic
    if ($LASTEXITCODE -ne 0) { throw "data generation failed" }
}

& $Py -c "import sys; from app.core.config import get_settings; from app.models.versions.store import model_exists; sys.exit(not model_exists(get_settings().model_dir))"
if ($LASTEXITCODE -ne 0) {
    Say "training the default model"
    & $Py train_model.py
    if ($LASTEXITCODE -ne 0) { throw "training failed" }
}

switch ($Mode) {
    "setup" { Say "set-up complete" }
    "run" {
        Say "starting the server (Ctrl-C to stop)"
        & $Py main.py
        exit $LASTEXITCODE
    }
    "test" {
        if (Test-Path ".venv\Scripts\playwright.exe") {
            # Playwright brings its own Chromium on Windows; on Debian CI setup.sh uses the system package.
            & $Py -m playwright install chromium
        }
        if (-not (Get-Command pdftoppm -ErrorAction SilentlyContinue)) {
            # setup.sh installs Debian's poppler-utils; on Windows installing Poppler is left to the user.
            Write-Warning "pdftoppm (Poppler) is not on PATH: the PDF report's page checks will be skipped; install Poppler for Windows and add its bin folder to PATH to run them"
        }
        Say "running the test suite"
        & $Py -m pytest @PytestArgs
        exit $LASTEXITCODE
    }
}
