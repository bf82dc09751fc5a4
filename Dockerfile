# vaultlink in a container: one static binary FROM scratch, so there is no base image to pull.
# The root filesystem is built first, from this checkout, by `scripts/image` (a static release
# build with cargo, then the layout: /vaultlink, /data, /tmp, /etc/passwd):
#
#   scripts/image build vaultlink:latest      # both steps, with podman or docker
#   # or by hand:
#   scripts/image rootfs ctx/rootfs && docker build -t vaultlink -f Dockerfile ctx
#
# Run it (README "Run it in a container"):
#   docker run -d --name vaultlink -p 8780:8780 -p 8781:8781 -v vaultlink-data:/data vaultlink
FROM scratch
COPY rootfs/ /

# Inside the container every listener is on all interfaces, on the default ports; the state,
# CA and keys live in the volume.
ENV VAULTLINK_DATA_DIR=/data \
    VAULTLINK_PROXY_LISTEN=0.0.0.0:8780 \
    VAULTLINK_HTTPS_LISTEN=0.0.0.0:8743 \
    VAULTLINK_IDENTITY_LISTEN=0.0.0.0:8781 \
    VAULTLINK_DNS_LISTEN=0.0.0.0:8753
VOLUME /data
# proxy (HTTPS_PROXY), direct HTTPS (ARM, Entra, portal), identity (plain HTTP: IMDS,
# /vaultlink/ca.pem, /vaultlink/health), DNS (the internet's view).
EXPOSE 8780/tcp 8743/tcp 8781/tcp 8753/tcp 8753/udp

HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 CMD ["/vaultlink", "health"]
ENTRYPOINT ["/vaultlink", "serve"]
