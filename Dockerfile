# syntax=docker/dockerfile:1
# Multi-stage build of vtap-collector: the SDK image compiles and publishes a self-contained
# single-file ReadyToRun binary; the runtime image holds only the libraries it needs and runs it
# as a non-root user. Without arguments the container replays its bundled sample.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props VtapCollector.sln ./
COPY src/ src/
RUN dotnet publish src/VtapCollector/VtapCollector.csproj \
      -c Release -r linux-x64 --self-contained \
      -p:PublishSingleFile=true -p:PublishReadyToRun=true \
      -o /out

FROM mcr.microsoft.com/dotnet/runtime-deps:10.0 AS runtime
RUN groupadd --system vtap && useradd --system --gid vtap --no-create-home --shell /usr/sbin/nologin vtap
COPY --from=build /out/vtap-collector /usr/lib/vtap-collector/vtap-collector
RUN ln -s /usr/lib/vtap-collector/vtap-collector /usr/bin/vtap-collector
USER vtap
ENTRYPOINT ["/usr/bin/vtap-collector"]
CMD ["replay"]
