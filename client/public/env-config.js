// Development default. In the client image, docker-entrypoint.sh writes this file at container
// start from the CLIENT_* variables (see client/src/env.ts); this copy is not used there.
window.__ENV__ = {};
