# Versions and cache location of the VS Code host; sourced by the host scripts. The launcher (launcher.mjs)
# reads the same RS_HOST_DIR default, so keep the two in step.
RS_NODE_VERSION=24.22.3
RS_CODE_SERVER_VERSION=4.139.1
RS_PLAYWRIGHT_VERSION=1.65.1
RS_HOST_DIR=${REACTORSCOPE_HOST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/reactorscope/host-$RS_CODE_SERVER_VERSION}
export RS_HOST_DIR
