#!/usr/bin/env bash
# Compiles and lints main.bicep offline with the Bicep CLI, which checks every resource's
# properties against the Azure API versions it names. The CLI comes from NuGet (the package
# Azure.Bicep.CommandLine.linux-x64, restored into the NuGet cache like the project's other
# packages), so only the .NET SDK is needed. Any diagnostic, even a warning, fails.
#
#   deploy/azure/validate.sh [OUT.json]     OUT.json: where to write the compiled ARM template
set -euo pipefail

bicep_version=0.49.2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-}

packages=${NUGET_PACKAGES:-$HOME/.nuget/packages}
bicep="$packages/azure.bicep.commandline.linux-x64/$bicep_version/tools/bicep"
if [ ! -f "$bicep" ]; then
    restore=$(mktemp -d "${TMPDIR:-/tmp}/bicep-restore.XXXXXX")
    trap 'rm -rf "$restore"' EXIT
    cat >"$restore/bicep-cli.csproj" <<PROJECT
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
  </PropertyGroup>
  <ItemGroup>
    <PackageDownload Include="Azure.Bicep.CommandLine.linux-x64" Version="[$bicep_version]" />
  </ItemGroup>
</Project>
PROJECT
    dotnet restore "$restore/bicep-cli.csproj" -nologo -v quiet >&2
fi
chmod +x "$bicep"

diagnostics=$(mktemp "${TMPDIR:-/tmp}/bicep-diagnostics.XXXXXX")
compiled=$(mktemp "${TMPDIR:-/tmp}/bicep-main.XXXXXX.json")
"$bicep" build "$here/main.bicep" --outfile "$compiled" 2>"$diagnostics"
"$bicep" lint "$here/main.bicep" 2>>"$diagnostics"
if [ -s "$diagnostics" ]; then
    cat "$diagnostics" >&2
    rm -f "$diagnostics" "$compiled"
    echo "validate: main.bicep has diagnostics" >&2
    exit 1
fi
rm -f "$diagnostics"
if [ -n "$out" ]; then
    mv "$compiled" "$out"
else
    rm -f "$compiled"
fi
echo "validate: main.bicep compiles and lints cleanly (Bicep CLI $bicep_version)" >&2
