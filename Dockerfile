# A small image with ecr-fanout and buildah, for CI runners without a Docker daemon (GitLab
# Kubernetes executors, Jenkins agents): `docker build -t ecr-fanout .`, then in a job
# `ecr-fanout push --builder buildah ...` (examples/ci/gitlab-ci.yml, templates/push.yml).

FROM docker.io/library/rust:1.95-slim-bookworm AS build
WORKDIR /src
# The whole package (its manifest declares the benchmark and a build script), minus what
# .dockerignore leaves out. The context has no .git: pass the commit for `--version` with
# `--build-arg ECR_FANOUT_COMMIT=$(git rev-parse --short=12 HEAD)`.
COPY . ./
ARG ECR_FANOUT_COMMIT
RUN cargo build --release --locked --bin ecr-fanout \
 && strip target/release/ecr-fanout

FROM docker.io/library/debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends buildah ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/ecr-fanout /usr/local/bin/ecr-fanout
# buildah without privileges or a daemon: chroot isolation, the vfs storage driver.
ENV BUILDAH_ISOLATION=chroot \
    STORAGE_DRIVER=vfs
CMD ["ecr-fanout", "--help"]
