# shellcheck shell=bash disable=SC2034 # replay is used by the scripts that source this file
# Sourced by the comparison scripts (run from the repository root): builds the collector to time
# and sets `replay` to the command that runs `vtap-collector replay`.
# By default the collector as it ships (packaging/build-deb.sh): one self-contained executable with
# ReadyToRun code, which starts in about 35 ms where `dotnet vtap-collector.dll` takes about 120 ms
# to start the runtime and compile. REPLAY=dll times the framework-dependent build instead.
if [ "${REPLAY:-published}" = dll ]; then
  dotnet build src/VtapCollector -c Release -v quiet -nologo -clp:ErrorsOnly >&2
  replay=(dotnet "$PWD/src/VtapCollector/bin/Release/net10.0/vtap-collector.dll" replay)
else
  echo "Publishing the collector as packaged (self-contained, ReadyToRun) to bench/compare/bin/publish" >&2
  dotnet publish src/VtapCollector -c Release -r linux-x64 --self-contained \
    -p:PublishSingleFile=true -p:PublishReadyToRun=true -o bench/compare/bin/publish -nologo -v quiet >&2
  replay=("$PWD/bench/compare/bin/publish/vtap-collector" replay)
fi
