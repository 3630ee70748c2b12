# sio-server image: build on debian:bookworm, run on debian:bookworm-slim.
# No `# syntax=` line: the builder's own Dockerfile frontend is used, so a build
# needs no registry beyond the two debian base images (scripts/docker-test.sh
# builds and runs it where not even those can be pulled).
#
#   docker build -t sio-server .
#   docker run --rm --stop-timeout 40 -p 3000:3000 -p 3001:3001 \
#     -e REDIS_URL=redis://redis:6379 sio-server
#
# --stop-timeout (or `docker stop -t 40`) must exceed DRAIN_SECONDS (30 s by
# default): a plain `docker stop` sends SIGKILL after 10 s, in the middle of the drain.
#
# Configuration is by environment variable only: `docker run --rm sio-server --help`
# lists them with their defaults. See docs/DEPLOY.md.

############################ build ############################
FROM debian:bookworm AS build

ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential \
      cmake \
      pkg-config \
      libwebsockets-dev \
      libwebsockets-evlib-uv \
      libuv1-dev \
      libhttp-parser-dev \
      libevent-dev \
      libhiredis-dev \
      libcurl4-openssl-dev \
      libjansson-dev \
      libmsgpack-dev \
      libssl-dev \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*
# No libwslay-dev: only the load generator (loadtest/, sio-bench) uses it, and
# SIO_BUILD_LOADTEST=OFF leaves it out (SIO_BUILD_TESTS=OFF: no test servers).

WORKDIR /src
# .dockerignore keeps build trees, node_modules and .git out of the context.
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
      -DSIO_BUILD_TESTS=OFF -DSIO_BUILD_LOADTEST=OFF \
 && cmake --build build -j"$(nproc)" --target sio-server \
 && strip build/sio-server

########################### runtime ###########################
FROM debian:bookworm-slim AS runtime

# Runtime libraries of build/sio-server, found with
#   ldd build/sio-server | awk '/=>/ {print $3}' | xargs -n1 readlink -f | xargs dpkg -S
# plus libwebsockets-evlib-uv, the libuv event-loop plugin that libwebsockets
# dlopen()s at run time (it does not show in ldd), ca-certificates for rediss://
# (REDIS_TLS_CA_FILE unset = system CA store) and curl for the HEALTHCHECK.
#   libwebsockets.so.17              libwebsockets17
#   libwebsockets-evlib_uv.so        libwebsockets-evlib-uv
#   libuv.so.1                       libuv1
#   libhttp_parser.so.2.9            libhttp-parser2.9
#   libevent{,_core,_pthreads,_openssl}-2.1.so.7
#                                    libevent-2.1-7 libevent-core-2.1-7
#                                    libevent-pthreads-2.1-7 libevent-openssl-2.1-7
#   libhiredis.so.0.14               libhiredis0.14
#   libcurl.so.4                     libcurl4 (the backend proxies' HTTP client)
#   libjansson.so.4                  libjansson4
#   libmsgpackc.so.2                 libmsgpackc2
#   libssl.so.3 libcrypto.so.3       libssl3
#   libcap.so.2 libz.so.1            libcap2 zlib1g (through libwebsockets17)
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates \
      curl \
      libwebsockets17 \
      libwebsockets-evlib-uv \
      libuv1 \
      libhttp-parser2.9 \
      libevent-2.1-7 \
      libevent-core-2.1-7 \
      libevent-pthreads-2.1-7 \
      libevent-openssl-2.1-7 \
      libhiredis0.14 \
      libcurl4 \
      libjansson4 \
      libmsgpackc2 \
      libssl3 \
      libcap2 \
      zlib1g \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*

# An unprivileged user with a fixed numeric id (ECS / Kubernetes runAsNonRoot).
RUN groupadd --system --gid 10001 sio \
 && useradd --system --uid 10001 --gid sio --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin sio

COPY --from=build /src/build/sio-server /usr/local/bin/sio-server

# Fail the image build, not the first start, if a library or the lws plugin is missing.
RUN if ldd /usr/local/bin/sio-server | grep 'not found'; then exit 1; fi \
 && ls /usr/lib/*-linux-gnu/libwebsockets-evlib_uv.so \
 && /usr/local/bin/sio-server --help >/dev/null

USER 10001:10001

# 3000: Socket.IO (PORT), 3001: internal HTTP API and /health (API_PORT).
EXPOSE 3000 3001

# /health answers 200 while serving and 503 while draining after SIGTERM, on the
# API port and on the Socket.IO port alike. Shell form so that the container's
# API_PORT and PORT are followed: the API port, or PORT when API_PORT=0 (API off).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD port="${API_PORT:-3001}"; [ "$port" != 0 ] || port="${PORT:-3000}"; \
      curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/health" || exit 1

# SIGTERM starts the drain (DRAIN_SECONDS); give the container more than
# DRAIN_SECONDS before SIGKILL (docker run --stop-timeout / docker stop -t: 40 for
# the default 30 s; compose stop_grace_period; ECS stopTimeout DRAIN_SECONDS + 15 s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/sio-server"]
