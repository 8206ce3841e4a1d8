# syntax=docker/dockerfile:1
# VtapCollector in a container. Two stages: the .NET SDK publishes the collector as one
# self-contained, ReadyToRun executable (the same publish as packaging/build-deb.sh); the runtime
# stage is Debian 12 slim with only the libraries the executable loads, and runs it as a non-root
# user. Without arguments the container runs the collector (`run`) with packaging/container.json:
# UDP 4789 on every address, records on stdout, /metrics, /healthz and /readyz on port 9464.
#
#   docker build -t vtap-collector .
#
# UDP source (no privilege; the cloud TAP or switch mirror sends to the host's port 4789):
#   docker run -d --name vtap -p 4789:4789/udp -p 9464:9464 \
#     -e VTAP__ALLOWLIST__SOURCECIDRS__0=10.1.0.0/16 vtap-collector
#   (or --network host, which also skips Docker's UDP proxying and keeps the mirror's source
#   addresses as the allow-list sees them)
#
# AF_PACKET or libpcap source on a dedicated NIC: the host's network and CAP_NET_RAW, nothing more:
#   docker run -d --name vtap --network host --user 0 --cap-drop ALL --cap-add NET_RAW \
#     -e VTAP__SOURCES__UDP__ENABLED=false -e VTAP__SOURCES__AFPACKET__ENABLED=true \
#     -e VTAP__SOURCES__AFPACKET__INTERFACE=eth1 vtap-collector
#   --user 0: Docker (and Kubernetes) hand an added capability to root only, not to a non-root
#   user (no ambient capabilities); with --cap-drop ALL that root holds CAP_NET_RAW and nothing else.
#
# AF_XDP source (Sources:Xdp): the host's network, CAP_BPF, CAP_NET_ADMIN and CAP_NET_RAW, and
# locked memory for the sockets' UMEM (64 MiB per receive queue by default):
#   docker run -d --name vtap --network host --user 0 --cap-drop ALL \
#     --cap-add BPF --cap-add NET_ADMIN --cap-add NET_RAW --ulimit memlock=-1 \
#     -e VTAP__SOURCES__UDP__ENABLED=false -e VTAP__SOURCES__XDP__ENABLED=true \
#     -e VTAP__SOURCES__XDP__INTERFACE=eth1 vtap-collector
#   A seccomp profile that refuses the bpf() system call (older Docker defaults allow it only
#   with CAP_SYS_ADMIN) shows as the sentence about CAP_BPF: use a profile that allows bpf.
#   The program is attached through a bpf link, so a container that is killed leaves none behind.
#
# Stopping: at SIGTERM every active flow is ended and written out, which may take up to
# Pipeline:ShutdownTimeoutSeconds (20 s): give it time with docker stop -t 30 (or --stop-timeout 30).
#
# Receive buffers: the host's net.core.rmem_max applies inside the container too; raise it on the
# host (packaging/sysctl/60-vtap-collector.conf) or the log warns that bursts may be dropped.
# Replays: docker run --rm -i vtap-collector replay - < capture.pcap

# The SDK image: Ubuntu 24.04 based; the executable it publishes carries its own runtime and runs
# on any glibc 2.27 or later, so the build and runtime distributions need not match.
FROM mcr.microsoft.com/dotnet/sdk:10.0.100-noble AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/ src/
# KafkaNative=system: librdkafka comes from the runtime image's librdkafka1, as in the .deb.
RUN dotnet publish src/VtapCollector/VtapCollector.csproj \
      -c Release -r linux-x64 --self-contained \
      -p:PublishSingleFile=true -p:PublishReadyToRun=true -p:KafkaNative=system \
      -o /out

FROM debian:12.11-slim AS runtime
# The libraries the executable loads (librdkafka for Kafka, libpcap for the libpcap source) and CA
# certificates for Kafka over TLS; nothing else. Not pinned to versions: the base image's tag
# pins the release, and each build takes that release's security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       ca-certificates \
       libpcap0.8 \
       librdkafka1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 vtap-collector \
    && useradd --system --uid 10001 --gid vtap-collector --home-dir /var/lib/vtap-collector \
       --no-create-home --shell /usr/sbin/nologin vtap-collector \
    && install -d -o vtap-collector -g vtap-collector -m 0750 /var/lib/vtap-collector
COPY --from=build /out/vtap-collector /usr/lib/vtap-collector/vtap-collector
COPY packaging/container.json /etc/vtap-collector/vtap-collector.json
RUN ln -s /usr/lib/vtap-collector/vtap-collector /usr/bin/vtap-collector \
    && /usr/bin/vtap-collector run --check
USER 10001:10001
WORKDIR /var/lib/vtap-collector
EXPOSE 4789/udp 9464/tcp
# /healthz over bash's /dev/tcp, so the image needs no HTTP client: healthy while the status line
# says 200 (every collector thread makes progress).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9464 && printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/vtap-collector"]
CMD ["run"]
